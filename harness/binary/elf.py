"""Reads just enough of an ELF file to tell which machine, byte order and loader it needs."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

from ..arches import ELF_MACHINE_NAMES, MUSL_LOADER_MARK
from ..errors import BinaryError
from ..targets import Target
_PT_INTERP = 3


@dataclass(frozen=True)
class ElfInfo:
    path: Path
    bits: int
    endian: str
    machine_number: int
    interpreter: str | None  # PT_INTERP; None for a static executable

    @property
    def machine(self) -> str:
        return ELF_MACHINE_NAMES.get(self.machine_number, f"e_machine {self.machine_number}")

    @property
    def libc(self) -> str:
        if self.interpreter is None:
            return "static"
        return "musl" if MUSL_LOADER_MARK in self.interpreter else "glibc"

    def describe(self) -> str:
        linkage = "static" if self.interpreter is None else f"dynamic, loader {self.interpreter}"
        return f"{self.machine} {self.bits}-bit {self.endian}-endian ELF ({linkage})"


def read_elf(path: Path) -> ElfInfo:
    try:
        with open(path, "rb") as handle:
            header = handle.read(64)
            if header[:4] != b"\x7fELF":
                raise BinaryError(
                    f"{path} is not an ELF executable (it starts with {header[:4]!r})",
                    fix="pass the executable itself, a wheel (.whl) or a release archive (.tar.gz)",
                )
            bits = {1: 32, 2: 64}.get(header[4])
            endian = {1: "little", 2: "big"}.get(header[5])
            if bits is None or endian is None or len(header) < (64 if bits == 64 else 52):
                raise BinaryError(f"{path} has a damaged ELF header", fix="rebuild or download the binary again")
            order = "<" if endian == "little" else ">"
            if bits == 64:
                _, machine, _, _, phoff = struct.unpack_from(order + "HHIQQ", header, 16)
                phentsize, phnum = struct.unpack_from(order + "HH", header, 54)
                ph_format = order + "IIQQ"  # p_type, p_flags, p_offset, p_vaddr
                ph_size_format = order + "Q"  # p_filesz at +32
                filesz_at = 32
            else:
                _, machine, _, _, phoff = struct.unpack_from(order + "HHIII", header, 16)
                phentsize, phnum = struct.unpack_from(order + "HH", header, 42)
                ph_format = order + "II"  # p_type, p_offset
                ph_size_format = order + "I"
                filesz_at = 16
            interpreter = None
            for index in range(phnum):
                handle.seek(phoff + index * phentsize)
                entry = handle.read(phentsize)
                if len(entry) < phentsize:
                    raise BinaryError(f"{path} is truncated (program header {index} is cut off)",
                                      fix="the file is incomplete: rebuild or download it again")
                fields = struct.unpack_from(ph_format, entry)
                if fields[0] != _PT_INTERP:
                    continue
                offset = fields[2] if bits == 64 else fields[1]
                (size,) = struct.unpack_from(ph_size_format, entry, filesz_at)
                handle.seek(offset)
                interpreter = handle.read(size).rstrip(b"\0").decode("ascii", "replace")
    except OSError as exc:
        raise BinaryError(f"cannot read {path}: {exc.strerror}", fix="check the path given to --binary")
    return ElfInfo(path=path, bits=bits, endian=endian, machine_number=machine, interpreter=interpreter)


def check_runs_on(info: ElfInfo, target: Target) -> None:
    """Refuse a binary that cannot run on the target, naming both sides."""
    wanted = target.elf
    if (info.machine_number, info.bits, info.endian) != (wanted.machine_number, wanted.bits, wanted.endian):
        raise BinaryError(
            f"{info.path} is a {info.describe()}, but target {target.name} runs {wanted.describe()} binaries",
            fix=f"pass the {target.name} build of the binary, or choose the arch it was built for with --arch",
        )
    if info.libc not in ("static", target.libc):
        raise BinaryError(
            f"{info.path} is linked against {info.libc} (loader {info.interpreter}), "
            f"but target {target.name} is a {target.libc} system",
            fix=f"pass a {target.libc} or static build for {target.name}",
        )
