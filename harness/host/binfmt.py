"""binfmt_misc: the kernel hook that hands foreign ELF files to qemu-user."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from ..errors import HostSetupError
from ..targets import Target
from .tools import find_tool

BINFMT_DIR = Path("/proc/sys/fs/binfmt_misc")


@dataclass(frozen=True)
class Handler:
    name: str
    enabled: bool
    interpreter: str
    flags: str


def install_fix(qemu_arch: str) -> str:
    return f"apt-get install qemu-user-static binfmt-support && update-binfmts --enable qemu-{qemu_arch}"


def ensure_mounted() -> None:
    if (BINFMT_DIR / "status").exists():
        return
    if os.geteuid() == 0:
        result = subprocess.run(
            [find_tool("mount") or "mount", "-t", "binfmt_misc", "binfmt_misc", str(BINFMT_DIR)], capture_output=True, text=True
        )
        if result.returncode == 0:
            return
        detail = result.stderr.strip()
    else:
        detail = "not root, so archsmoke cannot mount it"
    raise HostSetupError(
        f"binfmt_misc is not mounted at {BINFMT_DIR} ({detail})",
        fix=f"as root: mount -t binfmt_misc binfmt_misc {BINFMT_DIR}",
    )


def read_handler(name: str) -> Handler | None:
    try:
        text = (BINFMT_DIR / name).read_text()
    except (FileNotFoundError, PermissionError):
        return None
    fields = dict(line.split(" ", 1) if " " in line else (line, "") for line in text.splitlines())
    return Handler(
        name=name,
        enabled="enabled" in fields,
        interpreter=fields.get("interpreter", ""),
        flags=fields.get("flags:", "").strip(),
    )


def require_handler(target: Target) -> Handler | None:
    """The registered handler for a foreign target, checked usable inside a chroot; None if native."""
    if target.runs_natively:
        return None
    ensure_mounted()
    name = f"qemu-{target.qemu_arch}"
    handler = read_handler(name)
    if handler is None:
        raise HostSetupError(
            f"no binfmt_misc handler '{name}' is registered, so {target.name} binaries cannot run here",
            fix=install_fix(target.qemu_arch),
        )
    if not handler.enabled:
        raise HostSetupError(f"the binfmt_misc handler '{name}' is disabled", fix=f"update-binfmts --enable {name}")
    if "F" not in handler.flags:
        raise HostSetupError(
            f"the binfmt_misc handler '{name}' lacks the F (fix-binary) flag, so its interpreter "
            f"{handler.interpreter} is not reachable from inside a root filesystem",
            fix=f"install the static emulators: {install_fix(target.qemu_arch)}",
        )
    if not Path(handler.interpreter).exists():
        raise HostSetupError(
            f"the binfmt_misc handler '{name}' points at {handler.interpreter}, which does not exist",
            fix=install_fix(target.qemu_arch),
        )
    return handler


def qemu_version(target: Target) -> str | None:
    """`qemu-<arch> --version` of the emulator actually registered, for reports."""
    handler = read_handler(f"qemu-{target.qemu_arch}") if target.qemu_arch else None
    if handler is None:
        return None
    binary = os.path.realpath(handler.interpreter)
    try:
        out = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.splitlines()[0] if out else None
