"""What archsmoke needs to know of an ELF file: machine, byte order, loader, the glibc versions it needs,
and whether the file is whole.  Read with pyelftools."""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass
from pathlib import Path

from elftools.common.exceptions import ELFError
from elftools.elf.elffile import ELFFile
from elftools.elf.gnuversions import GNUVerDefSection, GNUVerNeedSection

from ..arches import ELF_MACHINE_NAMES, MUSL_LOADER_MARK
from ..errors import BinaryError
from ..targets import Target

_GLIBC = re.compile(r"^GLIBC_(\d+)\.(\d+)(?:\.\d+)?$")


@dataclass(frozen=True)
class ElfInfo:
    path: Path
    bits: int
    endian: str
    machine_number: int
    interpreter: str | None  # PT_INTERP; None for a static executable
    glibc_needed: tuple[int, int] | None = None  # the newest GLIBC_x.y symbol version it references
    needed: tuple[str, ...] = ()  # its DT_NEEDED libraries

    @property
    def machine(self) -> str:
        return ELF_MACHINE_NAMES.get(self.machine_number, f"e_machine {self.machine_number}")

    @property
    def libc(self) -> str:
        if self.interpreter is None:
            return _library_libc(self.needed)
        return "musl" if MUSL_LOADER_MARK in self.interpreter else "glibc"

    @property
    def loader_words(self) -> str:
        """How it finds its C library, for messages: its loader, or (a shared library) the libc it needs."""
        if self.interpreter is not None:
            return f"loader {self.interpreter}"
        libc = _c_library(self.needed)
        return f"needs {libc}" if libc else "no C library"

    def describe(self) -> str:
        linkage = "static" if self.interpreter is None else f"dynamic, loader {self.interpreter}"
        return f"{self.machine} {self.bits}-bit {self.endian}-endian ELF ({linkage})"


def _c_library(needed: tuple[str, ...]) -> str | None:
    """The C library a file names among its DT_NEEDED: glibc's libc.so.6, musl's libc.so or libc.musl-ARCH.so.1."""
    return next((n for n in needed if n in ("libc.so.6", "libc.so") or n.startswith("libc.musl-")), None)


def _library_libc(needed: tuple[str, ...]) -> str:
    """A file without a loader: a static executable, or a shared library (an extension module, a Node.js addon),
    whose C library is the one it names."""
    libc = _c_library(needed)
    return "static" if libc is None else "glibc" if libc == "libc.so.6" else "musl"


def _glibc_versions(names) -> tuple[int, int] | None:
    found = [(int(m.group(1)), int(m.group(2))) for name in names if (m := _GLIBC.match(name))]
    return max(found) if found else None


def _versions(elf: ELFFile, name: str, kind: type) -> tuple[int, int] | None:
    section = elf.get_section_by_name(name)
    if section is None:
        return None
    if not isinstance(section, kind):  # a damaged file: the name is there, the section is of another type
        raise ELFError(f"its {name} section has type {section['sh_type']}, not {kind.__name__}")
    return _glibc_versions(aux.name for _, auxiliaries in section.iter_versions() for aux in auxiliaries)


def glibc_needed(elf: ELFFile) -> tuple[int, int] | None:
    return _versions(elf, ".gnu.version_r", GNUVerNeedSection)


def _needed_libraries(elf: ELFFile) -> tuple[str, ...]:
    section = elf.get_section_by_name(".dynamic")
    if section is None or not hasattr(section, "iter_tags"):
        return ()
    return tuple(tag.needed for tag in section.iter_tags() if tag.entry.d_tag == "DT_NEEDED")


def glibc_provided(path: Path) -> tuple[int, int] | None:
    """The newest GLIBC_x.y a libc.so.6 defines."""
    with open(path, "rb") as handle:
        return _versions(ELFFile(handle), ".gnu.version_d", GNUVerDefSection)


def read_elf(path: Path | str) -> ElfInfo:
    path = Path(path)
    damaged = dict(fix="the file is incomplete or damaged: rebuild or download it again")
    try:
        size = path.stat().st_size
        with open(path, "rb") as handle:
            header = handle.read(64)
            if header[:4] != b"\x7fELF":
                raise BinaryError(f"{path} is not an ELF executable (it starts with {header[:4]!r})",
                                  fix="pass the executable itself, a wheel (.whl) or a release archive (.tar.gz)")
            bits = {1: 32, 2: 64}.get(header[4])
            endian = {1: "little", 2: "big"}.get(header[5])
            if bits is None or endian is None or len(header) < (64 if bits == 64 else 52):
                raise BinaryError(f"{path} has a damaged ELF header", fix="rebuild or download the binary again")
            (machine,) = struct.unpack_from("<H" if endian == "little" else ">H", header, 18)
            handle.seek(0)
            elf = ELFFile(handle)
            table_end = elf.header["e_phoff"] + elf.header["e_phnum"] * elf.header["e_phentsize"]
            if table_end > size:
                raise BinaryError(f"{path} is truncated: its program headers end at byte {table_end}, "
                                  f"the file has {size}", **damaged)
            interpreter = None
            for index, segment in enumerate(elf.iter_segments()):
                end = segment["p_offset"] + segment["p_filesz"]
                if end > size:
                    raise BinaryError(f"{path} is truncated: segment {index} ends at byte {end}, "
                                      f"the file has {size}", **damaged)
                if segment["p_type"] == "PT_INTERP":
                    interpreter = segment.get_interp_name()
            # A shared library (ET_DYN without a loader: an extension module) needs its libraries too.
            linked = interpreter is not None or elf.header["e_type"] == "ET_DYN"
            needs = glibc_needed(elf) if linked else None
            libraries = _needed_libraries(elf) if linked else ()
    except BinaryError:
        raise
    except OSError as exc:
        raise BinaryError(f"cannot read {path}: {exc.strerror}", fix="check the path given to --binary") from None
    except Exception as exc:  # noqa: BLE001 - pyelftools fails in many ways on a damaged file; each means that
        raise BinaryError(f"{path} is a damaged ELF file ({type(exc).__name__}: {exc})", **damaged) from None
    return ElfInfo(path=path, bits=bits, endian=endian, machine_number=machine, interpreter=interpreter,
                   glibc_needed=needs, needed=libraries)


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
            f"{info.path} is linked against {info.libc} ({info.loader_words}), "
            f"but target {target.name} is a {target.libc} system",
            fix=f"pass a {target.libc} or static build for {target.name}",
        )
