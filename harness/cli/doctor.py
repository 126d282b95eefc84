"""`python -m archsmoke doctor`: what this host lacks for each target, and the command that fixes it.

The root filesystems' needs are checked here; each tier says what it needs itself (Tier.doctor_checks), and a
check two tiers share (qemu-user's binfmt handlers, needed by the container tier too) is shown once."""

from __future__ import annotations

import os
import shutil

from ..cache import Cache
from ..errors import HarnessError
from ..host.checks import Check, tool_check, works
from ..host.mirror import debian_mirror
from ..host.tools import find_tool
from ..targets import Target
from ..tiers import TIERS

MIN_FREE_BYTES = 4 << 30


def run_checks(targets: list[Target], cache: Cache, mirror: str | None = None) -> list[Check]:
    checks = [
        tool_check("mmdebstrap", "mmdebstrap"),
        tool_check("unshare", "util-linux"),
        tool_check("nsenter", "util-linux"),
        tool_check("chroot", "coreutils"),
    ]
    suites = sorted({t.rootfs.suite for t in targets})
    for suite in suites:
        try:
            checks.append(Check(f"Debian mirror for {suite}", True, debian_mirror(suite, mirror)))
        except HarnessError as error:
            checks.append(Check(f"Debian mirror for {suite}", False, error.problem, error.fix))
    if os.geteuid() == 0:
        ok, why = works([find_tool("unshare") or "unshare", "--mount", "--pid", "--fork", "true"])
        checks.append(Check("mount and PID namespaces (root)", ok, why or "available",
                            None if ok else "run on a host or container that allows unshare(2)"))
    else:
        ok, why = works([find_tool("unshare") or "unshare", "--user", "--map-root-user", "--mount", "--pid", "--fork",
                         "true"])
        checks.append(Check("user namespaces (rootless)", ok, why or "available",
                            None if ok else "sysctl -w kernel.unprivileged_userns_clone=1 (or run as root)"))
    seen = {check.name for check in checks}
    for tier in TIERS.values():
        for check in tier.doctor_checks(targets):
            if check.name not in seen:
                seen.add(check.name)
                checks.append(check)
    probe = cache.root if cache.root.exists() else next(p for p in cache.root.parents if p.exists())
    free = shutil.disk_usage(probe).free
    checks.append(Check(f"free disk at {probe}", free >= MIN_FREE_BYTES, f"{free / (1 << 30):.1f} GiB",
                        None if free >= MIN_FREE_BYTES else
                        f"free space or point --cache-dir elsewhere (needs {MIN_FREE_BYTES >> 30} GiB)"))
    return checks


def render(checks: list[Check]) -> str:
    lines = []
    for check in checks:
        lines.append(f"{'ok     ' if check.ok else 'MISSING'} {check.name}: {check.detail}")
        if not check.ok and check.fix:
            lines.append(f"        fix: {check.fix}")
    missing = sum(not c.ok for c in checks)
    lines.append("all checks passed" if not missing else f"{missing} problem(s) found")
    return "\n".join(lines)
