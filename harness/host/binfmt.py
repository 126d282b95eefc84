"""binfmt_misc: the kernel hook that hands foreign ELF files to qemu-user."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from functools import lru_cache
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
    """`qemu-<arch> --version` of the emulator actually registered, for reports (for a natively run target,
    the one that runs its marked binary under test at the CPU floor)."""
    name = floor_handler_name(target) if target.runs_natively else f"qemu-{target.qemu_arch}"
    handler = read_handler(name) if target.qemu_arch else None
    if handler is None:
        return None
    binary = os.path.realpath(handler.interpreter)
    try:
        out = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.splitlines()[0] if out else None


# The CPU floor on a target this host runs natively (x86_64, i386).  Nothing emulates those, so a build
# that uses instructions above the arch's baseline (AVX2 from a `target-cpu=native`) would pass here.  The
# installed binary under test gets a mark in its ELF header's padding (e_ident[9:16], which the kernel's
# and QEMU's loaders ignore), and a binfmt_misc handler that matches only marked files of that machine
# hands them to qemu-user, which runs them at QEMU_CPU.  Every other program in the target runs natively.
FLOOR_MARK = b"ASMKFLR"
FLOOR_MARK_OFFSET = 9
# binfmt_misc's F flag opens the interpreter when the handler is registered: the link only has to exist
# then.  /run is cleared at reboot, as the registration itself is.
_FLOOR_LINKS = Path("/run/archsmoke-binfmt")


def floor_handler_name(target: Target) -> str:
    return f"archsmoke-floor-{target.qemu_arch}"


def _floor_magic(target: Target) -> tuple[bytes, bytes]:
    """(magic, mask): an ELF file of the target's class, byte order and machine that carries the mark."""
    order = "little" if target.elf.endian == "little" else "big"
    ident = b"\x7fELF" + bytes([1 if target.elf.bits == 32 else 2, 1 if order == "little" else 2, 1])
    magic = ident + b"\0\0" + FLOOR_MARK + (2).to_bytes(2, order) + target.elf.machine_number.to_bytes(2, order)
    # e_type ET_EXEC (2) or ET_DYN (3): the low bit is free, as in QEMU's own handlers' masks.
    e_type_mask = b"\xfe\xff" if order == "little" else b"\xff\xfe"
    mask = b"\xff" * 7 + b"\0\0" + b"\xff" * len(FLOOR_MARK) + e_type_mask + b"\xff\xff"
    return magic, mask


def _escaped(data: bytes) -> str:
    return "".join(f"\\x{byte:02x}" for byte in data)


def floor_emulator(target: Target) -> str | None:
    return find_tool(f"qemu-{target.qemu_arch}-static") if target.qemu_arch else None


def floor_unavailable(target: Target) -> str | None:
    """Why the CPU floor cannot be applied to a natively run target here (None: it can, and is registered now)."""
    name = floor_handler_name(target)
    try:
        ensure_mounted()
    except HostSetupError as error:
        return error.problem
    handler = read_handler(name)
    if handler is not None and handler.enabled and "F" in handler.flags:
        return None
    emulator = floor_emulator(target)
    if emulator is None:
        return f"qemu-{target.qemu_arch}-static is not installed (apt-get install qemu-user-static)"
    if os.geteuid() != 0:
        return (f"the binfmt_misc handler {name} is not registered, and registering it needs root "
                "(run ./bootstrap, or archsmoke once, as root)")
    try:
        _register_floor_handler(target, emulator)
    except OSError as exc:
        return f"registering the binfmt_misc handler {name} failed: {exc.strerror or exc}"
    return None


def _register_floor_handler(target: Target, emulator: str) -> None:
    name = floor_handler_name(target)
    _FLOOR_LINKS.mkdir(parents=True, exist_ok=True)
    # QEMU's -binfmt-P name tells it that binfmt_misc's P flag passed argv[0] through (as Debian's handlers do).
    link = _FLOOR_LINKS / f"{target.qemu_arch}-binfmt-P"
    if not link.is_symlink():
        link.symlink_to(emulator)
    magic, mask = _floor_magic(target)
    try:
        (BINFMT_DIR / "register").write_text(f":{name}:M:0:{_escaped(magic)}:{_escaped(mask)}:{link}:PF\n")
    except FileExistsError:
        pass  # another worker registered it first
    handler = read_handler(name)
    if handler is None or not handler.enabled:
        (BINFMT_DIR / name).write_text("1\n")


_CPU_LIST_PREFIXES = ("x86", "PowerPC", "s390")


@lru_cache(maxsize=None)
def qemu_cpu_models(qemu_arch: str) -> frozenset[str] | None:
    """The CPU models `qemu-ARCH-static -cpu help` lists (None when that emulator is not here to ask)."""
    emulator = find_tool(f"qemu-{qemu_arch}-static")
    if emulator is None:
        return None
    return cpu_models_of(emulator)


@lru_cache(maxsize=None)
def cpu_models_of(qemu: str) -> frozenset[str] | None:
    """The models a qemu-user or qemu-system binary lists for `-cpu help` (None if it cannot be asked)."""
    try:
        out = subprocess.run([qemu, "-cpu", "help"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    models = set()
    for line in out.splitlines():
        words = line.split()
        if not words or line.startswith("Available"):
            continue
        models.add(words[1] if words[0] in _CPU_LIST_PREFIXES and len(words) > 1 else words[0])
    return frozenset(models)
