"""`python -m archsmoke doctor`: what this host lacks for each target, and the command that fixes it."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass

from ..cache import Cache
from ..errors import HarnessError
from ..targets import Target
from . import binfmt, engine
from .mirror import debian_mirror
from .tools import find_tool

MIN_FREE_BYTES = 4 << 30


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str | None = None


def _tool(name: str, package: str) -> Check:
    path = find_tool(name)
    return Check(name, path is not None, path or "not found", None if path else f"apt-get install {package}")


def _works(argv: list[str]) -> tuple[bool, str]:
    try:
        result = subprocess.run(argv, capture_output=True, text=True, timeout=20)
    except OSError as exc:
        return False, exc.strerror or str(exc)
    return result.returncode == 0, result.stderr.strip()


def run_checks(targets: list[Target], cache: Cache, mirror: str | None = None) -> list[Check]:
    checks = [
        _tool("mmdebstrap", "mmdebstrap"),
        _tool("unshare", "util-linux"),
        _tool("nsenter", "util-linux"),
        _tool("chroot", "coreutils"),
    ]
    suites = sorted({t.rootfs.suite for t in targets})
    for suite in suites:
        try:
            checks.append(Check(f"Debian mirror for {suite}", True, debian_mirror(suite, mirror)))
        except HarnessError as error:
            checks.append(Check(f"Debian mirror for {suite}", False, error.problem, error.fix))
    if os.geteuid() == 0:
        ok, why = _works([find_tool("unshare") or "unshare", "--mount", "--pid", "--fork", "true"])
        checks.append(Check("mount and PID namespaces (root)", ok, why or "available",
                            None if ok else "run on a host or container that allows unshare(2)"))
    else:
        ok, why = _works([find_tool("unshare") or "unshare", "--user", "--map-root-user", "--mount", "--pid", "--fork", "true"])
        checks.append(Check("user namespaces (rootless)", ok, why or "available",
                            None if ok else "sysctl -w kernel.unprivileged_userns_clone=1 (or run as root)"))
    for target in targets:
        if target.runs_natively:
            checks.append(Check(f"{target.name}", True, "runs natively on this host, no emulator needed"))
            if target.qemu_arch and target.cpu:
                why = binfmt.floor_unavailable(target)  # registers the handler when run as root
                checks.append(Check(f"{target.name} CPU floor {target.cpu}", why is None,
                                    f"binfmt handler {binfmt.floor_handler_name(target)} runs the marked binary under "
                                    f"test through qemu-{target.qemu_arch}" if why is None else why,
                                    None if why is None else "run ./bootstrap (or python -m archsmoke doctor) as root"))
            continue
        emulator = f"qemu-{target.qemu_arch}-static"
        found = find_tool(emulator)
        checks.append(Check(emulator, found is not None, found or "not found",
                            None if found else binfmt.install_fix(target.qemu_arch)))
        try:
            handler = binfmt.require_handler(target)
            checks.append(Check(f"binfmt handler qemu-{target.qemu_arch}", True,
                                f"{handler.interpreter}, flags {handler.flags}"))
        except HarnessError as error:
            checks.append(Check(f"binfmt handler qemu-{target.qemu_arch}", False, error.problem, error.fix))
    checks.extend(container_checks())
    checks.extend(vm_checks(targets))
    checks.append(ssh_check())
    probe = cache.root if cache.root.exists() else next(p for p in cache.root.parents if p.exists())
    free = shutil.disk_usage(probe).free
    checks.append(Check(f"free disk at {probe}", free >= MIN_FREE_BYTES, f"{free / (1 << 30):.1f} GiB",
                        None if free >= MIN_FREE_BYTES else
                        f"free space or point --cache-dir elsewhere (needs {MIN_FREE_BYTES >> 30} GiB)"))
    return checks


def container_checks() -> list[Check]:
    """The container tier: each engine, its version and whether it answers; how archsmoke adapts to this host."""
    engines = engine.survey()
    usable = [found for found in engines.values() if isinstance(found, engine.Engine)]
    if not usable:
        problems = {name: why for name, why in engines.items() if isinstance(why, str)}
        return [Check("container engine (for --runner container)", False,
                      "none usable: " + "; ".join(f"{n}: {why}" for n, why in problems.items()),
                      engine.fix_for(problems))]
    checks = []
    for name, found in engines.items():
        if isinstance(found, str):
            checks.append(Check(name, True, f"not usable here, so not tested here: {found}"))
            continue
        role = "the default engine" if found is usable[0] else f"answers too (--engine {name})"
        how = ", rootless (as this user: needs a cache this user owns; no subordinate uids needed)" \
            if name == "podman" and os.geteuid() != 0 else ""
        checks.append(Check(name, True, f"{found.version} at {found.path}: {role}" +
                            (how if name == "podman" else ", its daemon answers")))
        for choice in found.choices:
            checks.append(Check(f"{name} adapted", True, f"{' '.join(choice.flags)}: {choice.reason}"))
    return checks


def ssh_check() -> Check:
    """The ssh tier (--runner ssh) needs OpenSSH's client here; what it needs of each machine is checked when it
    connects (arch, libc, setsid, python3 for wheels)."""
    found = find_tool("ssh")
    return Check("ssh (for --runner ssh)", found is not None, found or "not found",
                 None if found else "apt-get install openssh-client")


def vm_checks(targets: list[Target]) -> list[Check]:
    """The VM tier (--runner vm): each target's qemu-system, machine type and firmware, mke2fs, and KVM."""
    from ..tiers.vm import machine  # the tier's own knowledge of what it needs

    checks = [_tool("mke2fs", "e2fsprogs")]
    for target in targets:
        if target.vm is None:
            continue
        try:
            binary = machine.require_runnable(target)
            checks.append(Check(f"{target.name} VM", True, f"{binary} -M {target.vm.machine} -cpu {target.vm.cpu}"
                                + (f", firmware {', '.join(target.vm.firmware)}" if target.vm.firmware else "")))
        except HarnessError as error:
            checks.append(Check(f"{target.name} VM (for --runner vm)", False, error.problem, error.fix))
    kvm = os.access("/dev/kvm", os.R_OK | os.W_OK)
    checks.append(Check("KVM", True, "/dev/kvm usable: VMs of this host's own arch use it" if kvm else
                        "no usable /dev/kvm: VMs of this host's arch would be emulated too (every other arch is, "
                        "always)"))
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
