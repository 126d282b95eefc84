"""What a root filesystem's maintainer scripts would have done, done natively after ``--variant=extract``.

Accounts, hosts, the CA bundle, busybox's applet links, and byte-compiling
Python with a host interpreter of the same version (pyc files are
arch-independent).  Only ``ldconfig`` runs emulated, and byte-compiling when
the host has no matching Python.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from ..errors import ImageBuildError
from ..host.tools import host_tool
from ..progress import Progress
from ..targets import Target


def finish_natively(root: Path) -> None:
    # Targets get the host's /dev bound in.  Device nodes in the cached tree would only make
    # it unsafe to copy or archive (reading dev/zero never ends) and impossible to unpack unprivileged.
    shutil.rmtree(root / "dev", ignore_errors=True)
    for directory, mode in (("proc", 0o555), ("sys", 0o555), ("dev", 0o755), ("run", 0o755),
                            ("root", 0o700), ("tmp", 0o1777), ("var/tmp", 0o1777)):
        path = root / directory
        path.mkdir(parents=True, exist_ok=True)
        path.chmod(mode)
    masters = root / "usr/share/base-passwd"
    for name in ("passwd", "group"):
        if (masters / f"{name}.master").exists() and not (root / "etc" / name).exists():
            shutil.copyfile(masters / f"{name}.master", root / "etc" / name)
    (root / "etc/hosts").write_text("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n")
    nsswitch = root / "etc/nsswitch.conf"
    if not nsswitch.exists():
        nsswitch.write_text("passwd: files\ngroup: files\nshadow: files\nhosts: files dns\n")
    certificates = sorted((root / "usr/share/ca-certificates").rglob("*.crt"))
    if certificates:
        bundle = root / "etc/ssl/certs/ca-certificates.crt"
        bundle.parent.mkdir(parents=True, exist_ok=True)
        bundle.write_text("".join(c.read_text() for c in certificates))


MERGED_USR = ("bin", "sbin", "lib")


def link_merged_usr(root: Path) -> None:
    """A root from a suite after Debian's /usr merge keeps everything under /usr, and the /bin, /sbin and /lib links
    come from base-files: a root without it (the musl roots: musl and busybox-static alone) gets them here, or its
    programs' loader path (/lib/ld-musl-riscv64.so.1) would lead nowhere."""
    for name in MERGED_USR:
        link, merged = root / name, root / "usr" / name
        if not link.exists() and not link.is_symlink() and merged.is_dir():
            link.symlink_to(f"usr/{name}")


def link_busybox_applets(root: Path, target: Target) -> None:
    """A root with only busybox-static gets /bin/sh and friends as symlinks (bookworm ships busybox in
    /bin, later suites in /usr/bin)."""
    found = next((path for path in ("bin/busybox", "usr/bin/busybox") if (root / path).is_file()), None)
    if found is None or (root / "bin/sh").exists():
        return
    busybox = f"/{found}"
    applets = run_in_root(root, [busybox, "--list-full"], timeout=target.timeouts.build).split()
    if not applets:
        raise ImageBuildError(f"busybox in the {target.name} root did not list its applets",
                              fix="check the busybox-static package of that architecture")
    for applet in applets:
        link = root / applet
        if not link.exists() and not link.is_symlink():
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to(busybox)


def run_in_root(root: Path, argv: list[str], timeout: float) -> str:
    """Run one build step inside the tree (chroot as root, a user namespace otherwise); its stdout."""
    chroot = host_tool("chroot", "coreutils")
    prefix = [chroot] if os.geteuid() == 0 else [host_tool("unshare", "util-linux"), "--map-root-user", chroot]
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C.UTF-8", "HOME": "/root"}
    try:
        result = subprocess.run([*prefix, str(root), *argv], capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        raise ImageBuildError(f"build step {' '.join(argv)} did not finish in {timeout:.0f} s")
    if result.returncode != 0:
        raise ImageBuildError(
            f"build step {' '.join(argv)} failed in {root} (exit {result.returncode}): {result.stderr.strip()[-800:]}"
        )
    return result.stdout


def target_python_version(root: Path) -> tuple[int, int] | None:
    versions = [m for p in (root / "usr/lib").glob("python3.*") if (m := re.fullmatch(r"python3\.(\d+)", p.name))]
    return (3, max(int(m.group(1)) for m in versions)) if versions else None


def host_python(version: tuple[int, int]) -> str | None:
    if sys.version_info[:2] == version:
        return sys.executable
    found = shutil.which(f"python{version[0]}.{version[1]}")
    return found


def byte_compile(root: Path, target: Target, progress: Progress) -> None:
    """Compile the target's Python modules once, so no test pays for it under emulation."""
    version = target_python_version(root)
    if version is None:
        return
    directories = [f"/usr/lib/python{version[0]}.{version[1]}", "/usr/lib/python3/dist-packages"]
    directories = [d for d in directories if (root / d.lstrip("/")).is_dir()]
    interpreter = host_python(version)
    if interpreter:
        progress.say(f"byte-compiling Python {version[0]}.{version[1]} natively with {interpreter}")
        command = [interpreter, "-m", "compileall", "-q", "-j0", "-s", str(root), "-p", "/",
                   *(str(root / d.lstrip("/")) for d in directories)]
        result = subprocess.run(command, capture_output=True, text=True, timeout=target.timeouts.build,
                                env={**os.environ, "PYTHONDONTWRITEBYTECODE": ""})
        # compileall exits 1 when some file does not compile (Debian ships a few such test files).
        if result.returncode not in (0, 1):
            raise ImageBuildError(f"byte-compiling failed: {result.stderr.strip()[-800:]}")
        return
    progress.say(f"byte-compiling Python {version[0]}.{version[1]} under emulation (no matching host python)")
    try:
        run_in_root(root, ["/usr/bin/python3", "-m", "compileall", "-q", *directories], timeout=target.timeouts.build)
    except ImageBuildError as exc:
        # Not fatal: uncompiled modules only make the first Python start in each session slower.
        progress.say(f"byte-compiling was incomplete: {exc.problem[:300]}")


