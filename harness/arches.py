"""Every fact archsmoke knows about an architecture, in one table keyed by Debian's name for it.

Targets (vms/*.yaml) name their Debian architecture; everything else (the ELF
machine, class and byte order, how container images record the platform, what ``uname -m``
says, whether this host runs it without an emulator) is looked up here.
"""

from __future__ import annotations

import platform
import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Arch:
    debian: str  # Debian's name: ppc64el
    elf_machine: str  # elf.h's EM_ name without the prefix: PPC64
    elf_number: int  # e_machine
    bits: int  # ELF class: 32 or 64
    endian: str  # ELF data encoding: little or big
    oci: tuple[str, str | None]  # (architecture, variant) as container images record it
    uname: str  # what `uname -m` says on a real machine of this arch
    npm: str  # Node's process.arch: what npm's per-platform packages are named with (@esbuild/linux-ppc64)
    glibc_loader: str = ""  # PT_INTERP of a dynamic glibc program: the ABI's path, whatever distribution built it
    musl_name: str = ""  # musl's word for the arch in its loader's name: /lib/ld-musl-{musl_name}.so.1
    compat_of: str | None = None  # the 64-bit arch whose kernel also runs this one natively (i386 on amd64)

    @property
    def gnu_triplet(self) -> str:
        """Debian's GNU triplet: its cross toolchain's prefix (aarch64-linux-gnu-gcc)."""
        return GNU_TRIPLETS[self.debian]

    def loader(self, libc: str) -> str:
        """Where a dynamic program of this arch and C library finds its loader."""
        return f"/lib/ld-musl-{self.musl_name}.so.1" if libc == "musl" else self.glibc_loader

    @property
    def platform_name(self) -> str:
        arch, variant = self.oci
        return f"linux/{arch}" + (f"/{variant}" if variant else "")


ARCHES: dict[str, Arch] = {a.debian: a for a in (
    Arch("amd64", "X86_64", 62, 64, "little", ("amd64", None), "x86_64", "x64", "/lib64/ld-linux-x86-64.so.2",
         "x86_64"),
    Arch("i386", "386", 3, 32, "little", ("386", None), "i686", "ia32", "/lib/ld-linux.so.2", "i386",
         compat_of="amd64"),
    Arch("arm64", "AARCH64", 183, 64, "little", ("arm64", None), "aarch64", "arm64", "/lib/ld-linux-aarch64.so.1",
         "aarch64"),
    # many arm64 CPUs lack AArch32: always emulated
    Arch("armhf", "ARM", 40, 32, "little", ("arm", "v7"), "armv7l", "arm", "/lib/ld-linux-armhf.so.3", "armhf"),
    Arch("ppc64el", "PPC64", 21, 64, "little", ("ppc64le", None), "ppc64le", "ppc64", "/lib64/ld64.so.2",
         "powerpc64le"),
    Arch("s390x", "S390", 22, 64, "big", ("s390x", None), "s390x", "s390x", "/lib/ld64.so.1", "s390x"),
    Arch("riscv64", "RISCV", 243, 64, "little", ("riscv64", None), "riscv64", "riscv64",
         "/lib/ld-linux-riscv64-lp64d.so.1", "riscv64"),
)}

GNU_TRIPLETS = {"amd64": "x86_64-linux-gnu", "i386": "i686-linux-gnu", "arm64": "aarch64-linux-gnu",
                "armhf": "arm-linux-gnueabihf", "ppc64el": "powerpc64le-linux-gnu", "s390x": "s390x-linux-gnu",
                "riscv64": "riscv64-linux-gnu"}

# How release file names say the arch: Go's GOARCH words (goreleaser: tool_1.2.3_linux_arm64.tar.gz) and Rust
# target triples' first part (cargo-dist: tool-powerpc64le-unknown-linux-gnu.tar.xz), and npm's (linux-ppc64).
_NAMED = {
    "amd64": ("x86_64", "amd64", "x64"),
    "i386": ("i686", "i586", "386", "ia32"),
    "arm64": ("aarch64", "arm64"),
    "armhf": ("armv7", "armv7l", "armhf", "arm"),
    "ppc64el": ("powerpc64le", "ppc64le", "ppc64el", "ppc64"),
    "s390x": ("s390x",),
    "riscv64": ("riscv64gc", "riscv64"),
}
_NAME_WORDS = re.compile(r"(?<![a-z0-9])(" + "|".join(sorted({w for ws in _NAMED.values() for w in ws}, key=len,
                                                              reverse=True)) + r")(?![a-z0-9])")


def words_for(debian_arch: str) -> tuple[str, ...]:
    """How programs and file names may say this arch (`aarch64`, `arm64`; `x86_64`, `amd64`, `x64`)."""
    arch = ARCHES.get(debian_arch)
    return tuple(dict.fromkeys((*_NAMED.get(debian_arch, ()), *((arch.uname, arch.debian) if arch else ()))))


def named_in(filename: str) -> tuple[str, Arch] | None:
    """The arch a release file's name says it is for (the word, and its Arch), if it says one."""
    words = {match.group(1) for match in _NAME_WORDS.finditer(filename.lower())}
    found = {debian for debian, names in _NAMED.items() for word in words if word in names}
    if len(found) != 1:
        return None  # none, or a name that mentions two arches: it says nothing certain
    debian = found.pop()
    return next(w for w in sorted(words, key=len, reverse=True) if w in _NAMED[debian]), ARCHES[debian]


ELF_MACHINES: dict[str, int] = {a.elf_machine: a.elf_number for a in ARCHES.values()}
ELF_MACHINE_NAMES: dict[int, str] = {a.elf_number: a.elf_machine for a in ARCHES.values()}

# A dynamic executable's loader (PT_INTERP) says which C library it needs.
MUSL_LOADER_MARK = "ld-musl"


def host_arch(machine: str | None = None) -> Arch | None:
    """The Arch of this host (by `uname -m`), None on a machine archsmoke does not know."""
    machine = machine or platform.machine()
    return next((a for a in ARCHES.values() if a.uname == machine or a.debian == machine), None)


def runs_natively(debian_arch: str, machine: str | None = None) -> bool:
    """Whether this host's kernel runs the arch's binaries itself (no emulator)."""
    host = host_arch(machine)
    arch = ARCHES.get(debian_arch)
    return host is not None and arch is not None and host.debian in (arch.debian, arch.compat_of)


def needs_32bit_personality(debian_arch: str, machine: str | None = None) -> bool:
    """A 32-bit arch run natively on its 64-bit sibling: `setarch linux32` makes uname say what real hardware says."""
    host = host_arch(machine)
    arch = ARCHES.get(debian_arch)
    return host is not None and arch is not None and arch.compat_of == host.debian
