"""The target model: one architecture and C library to test on, as ``vms/*.yaml`` defines it."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from .. import arches
from ..errors import ConfigError

LIBCS = ("glibc", "musl")
ENDIANS = ("little", "big")
ELF_CLASSES = (32, 64)


@dataclass(frozen=True)
class ElfIdentity:
    machine: str
    bits: int
    endian: str

    @property
    def machine_number(self) -> int:
        return arches.ELF_MACHINES[self.machine]

    def describe(self) -> str:
        return f"{self.machine} {self.bits}-bit {self.endian}-endian"


# Debian suites that are not releases: a root built from one changes daily, and reports say so.
UNRELEASED_SUITES = ("sid", "unstable", "experimental", "testing")


@dataclass(frozen=True)
class RootfsRecipe:
    suite: str
    packages: tuple[str, ...]
    apt_options: tuple[str, ...] = ()  # given to mmdebstrap as --aptopt (part of the cache key)
    python: str | None = None  # "musl": CPython cross-built against the root's musl (rootfs/musl_python.py)

    @property
    def unreleased(self) -> bool:
        return self.suite in UNRELEASED_SUITES


@dataclass(frozen=True)
class TimeBudgets:
    """Seconds allowed for each kind of work on this target (emulation is slow)."""

    build: float
    start: float
    command: float
    install: float


@dataclass(frozen=True)
class Target:
    name: str
    aliases: tuple[str, ...]
    source: Path
    debian_arch: str
    multiarch: str
    qemu_arch: str | None  # None: only ever runs natively (x86_64 on an x86_64 host)
    elf: ElfIdentity
    libc: str
    page_size: int
    cpu: str | None
    triple: str
    wheel_platforms: tuple[str, ...]
    rootfs: RootfsRecipe
    timeouts: TimeBudgets
    # The parts of the YAML that tiers own, as each tier parsed them ((key, spec) pairs: see sections.py).
    sections: tuple[tuple[str, Any], ...] = ()

    def section(self, key: str) -> Any:
        """A tier's section of this target (None where the YAML has none)."""
        return dict(self.sections).get(key)

    def with_section(self, key: str, spec: Any) -> Target:
        """This target with one tier's section replaced (a variant for tests and experiments)."""
        return replace(self, sections=tuple({**dict(self.sections), key: spec}.items()))

    @property
    def arch(self) -> arches.Arch:
        return arches.ARCHES[self.debian_arch]

    @property
    def oci_platform(self) -> tuple[str, str | None]:
        """(architecture, variant) as container images record them."""
        return self.arch.oci

    @property
    def platform_name(self) -> str:
        return self.arch.platform_name

    @property
    def wheel_arch(self) -> str:
        """The arch as wheel platform tags name it (manylinux_2_17_armv7l): PEP 600 tags use `uname -m`."""
        return self.arch.uname

    @property
    def loader(self) -> str:
        """Where the target's dynamic programs find their loader (the ABI's path, as builds made anywhere ask)."""
        return self.arch.loader(self.libc)

    @property
    def runs_natively(self) -> bool:
        """Whether this host runs the target's binaries without an emulator."""
        return self.qemu_arch is None or arches.runs_natively(self.debian_arch)

    @property
    def needs_32bit_personality(self) -> bool:
        return arches.needs_32bit_personality(self.debian_arch)

    def with_packages(self, *packages: str) -> "Target":
        """The same target, its root holding these Debian packages too (a runtime a run's builds need: nodejs)."""
        wanted = tuple(dict.fromkeys((*self.rootfs.packages, *packages)))
        return dataclasses.replace(self, rootfs=dataclasses.replace(self.rootfs, packages=wanted))

    @property
    def has_python(self) -> bool:
        return "python3" in self.rootfs.packages or self.rootfs.python is not None

    def __str__(self) -> str:
        return self.name


def require_libc(libc: str) -> None:
    if libc not in LIBCS:
        raise ConfigError(f"unknown libc {libc!r}", fix=f"--libc {' or --libc '.join(LIBCS)}")
