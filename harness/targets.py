"""The target model: one emulated architecture, loaded and validated from ``vms/*.yaml``."""

from __future__ import annotations

import platform
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .errors import ConfigError

# ELF e_machine numbers of the machines archsmoke knows (from elf.h).
ELF_MACHINES = {
    "386": 3,
    "PPC64": 21,
    "S390": 22,
    "ARM": 40,
    "X86_64": 62,
    "AARCH64": 183,
    "RISCV": 243,
}
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
        return ELF_MACHINES[self.machine]

    def describe(self) -> str:
        return f"{self.machine} {self.bits}-bit {self.endian}-endian"


@dataclass(frozen=True)
class RootfsRecipe:
    suite: str
    packages: tuple[str, ...]


@dataclass(frozen=True)
class PinnedImage:
    """A published container image for the container tier, pinned by digest (``--image-source pinned``)."""

    ref: str  # registry/name@sha256:<64 hex>
    has_python: bool

    @property
    def digest(self) -> str:
        return self.ref.rsplit("@", 1)[1]


# OCI platforms (GOARCH and variant) of the Debian architectures archsmoke knows.
OCI_PLATFORMS = {
    "amd64": ("amd64", None),
    "i386": ("386", None),
    "arm64": ("arm64", None),
    "armhf": ("arm", "v7"),
    "ppc64el": ("ppc64le", None),
    "s390x": ("s390x", None),
    "riscv64": ("riscv64", None),
}
_DIGEST_REF = re.compile(r"^[a-z0-9][a-z0-9._:/-]*@sha256:[0-9a-f]{64}$")


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
    qemu_arch: str | None  # None: runs natively on an x86_64 host
    elf: ElfIdentity
    libc: str
    page_size: int
    cpu: str | None
    triple: str
    wheel_platforms: tuple[str, ...]
    rootfs: RootfsRecipe
    timeouts: TimeBudgets
    image: PinnedImage | None = None

    @property
    def oci_platform(self) -> tuple[str, str | None]:
        """(architecture, variant) as container images record them."""
        return OCI_PLATFORMS[self.debian_arch]

    @property
    def platform_name(self) -> str:
        arch, variant = self.oci_platform
        return f"linux/{arch}" + (f"/{variant}" if variant else "")

    @property
    def emulated(self) -> bool:
        return self.qemu_arch is not None

    @property
    def has_python(self) -> bool:
        return "python3" in self.rootfs.packages

    def __str__(self) -> str:
        return self.name


def require_libc(libc: str) -> None:
    if libc not in LIBCS:
        raise ConfigError(f"unknown libc {libc!r}", fix=f"--libc {' or --libc '.join(LIBCS)}")


def default_targets_dir() -> Path:
    checkout = Path(__file__).resolve().parent.parent / "vms"
    if checkout.is_dir():
        return checkout
    from importlib.resources import files

    return Path(str(files("harness.vms")))


# --- validation -------------------------------------------------------------

_MISSING = object()


class _Fields:
    """Reads fields from one YAML mapping and reports errors with file and dotted path."""

    def __init__(self, source: Path, data: Any, prefix: str = ""):
        self.source = source
        self.prefix = prefix
        if not isinstance(data, dict):
            where = f"field '{prefix.rstrip('.')}'" if prefix else "the file"
            raise self.error(where, f"must be a mapping of fields, got {_kind(data)}")
        self.data = data
        self.seen: set[str] = set()

    def error(self, where: str, what: str) -> ConfigError:
        return ConfigError(
            f"{self.source}: {where} {what}",
            fix=f"edit {self.source.name}; see vms/README.md for every field",
        )

    def get(self, key: str, kind: type | tuple[type, ...], default: Any = _MISSING) -> Any:
        self.seen.add(key)
        field = f"field '{self.prefix}{key}'"
        if key not in self.data:
            if default is _MISSING:
                raise self.error(field, "is missing")
            return default
        value = self.data[key]
        # YAML booleans are ints to Python; never accept one where a number is meant.
        if not isinstance(value, kind) or (isinstance(value, bool) and bool not in _as_tuple(kind)):
            raise self.error(field, f"must be {_names(kind)}, got {_kind(value)} {value!r}")
        return value

    def choice(self, key: str, allowed: tuple, default: Any = _MISSING) -> Any:
        value = self.get(key, tuple({type(a) for a in allowed}), default)
        if value not in allowed:
            raise self.error(
                f"field '{self.prefix}{key}'",
                f"must be one of {', '.join(map(str, allowed))}, got {value!r}",
            )
        return value

    def string_list(self, key: str, default: Any = _MISSING) -> tuple[str, ...]:
        value = self.get(key, list, default)
        if any(not isinstance(v, str) or not v for v in value):
            raise self.error(f"field '{self.prefix}{key}'", "must be a list of non-empty strings")
        return tuple(value)

    def positive(self, key: str) -> float:
        value = self.get(key, (int, float))
        if value <= 0:
            raise self.error(f"field '{self.prefix}{key}'", f"must be a positive number, got {value!r}")
        return float(value)

    def section(self, key: str) -> _Fields:
        return _Fields(self.source, self.get(key, dict), f"{self.prefix}{key}.")

    def reject_unknown(self) -> None:
        unknown = sorted(set(self.data) - self.seen)
        if unknown:
            raise self.error(
                f"field '{self.prefix}{unknown[0]}'",
                f"is not a known field; known here: {', '.join(sorted(self.seen))}",
            )


def _as_tuple(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def _names(kind: type | tuple[type, ...]) -> str:
    names = {int: "a number", float: "a number", str: "a string", list: "a list", dict: "a mapping"}
    return " or ".join(sorted({names.get(k, k.__name__) for k in _as_tuple(kind)}))


def _kind(value: Any) -> str:
    return {type(None): "nothing", bool: "a boolean"}.get(type(value), _names(type(value)))


def parse_target(source: Path, text: str) -> Target:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{source}: invalid YAML{where}: {problem}", fix=f"correct the syntax of {source.name}")
    top = _Fields(source, data)
    name = top.get("arch", str)
    if source.stem != name:
        raise top.error("field 'arch'", f"must match the file name '{source.stem}', got {name!r}")
    elf = top.section("elf")
    elf_identity = ElfIdentity(
        machine=elf.choice("machine", tuple(ELF_MACHINES)),
        bits=elf.choice("class", ELF_CLASSES),
        endian=elf.choice("endian", ENDIANS),
    )
    elf.reject_unknown()
    rootfs = top.section("rootfs")
    recipe = RootfsRecipe(suite=rootfs.get("suite", str), packages=rootfs.string_list("packages"))
    rootfs.reject_unknown()
    budgets = top.section("timeouts")
    timeouts = TimeBudgets(
        build=budgets.positive("build"),
        start=budgets.positive("start"),
        command=budgets.positive("command"),
        install=budgets.positive("install"),
    )
    budgets.reject_unknown()
    image = None
    if "image" in top.data:
        pinned = top.section("image")
        ref = pinned.get("ref", str)
        if not _DIGEST_REF.match(ref):
            raise pinned.error("field 'image.ref'", f"must be pinned by digest (name@sha256:<64 hex digits>), got {ref!r}")
        image = PinnedImage(ref=ref, has_python=pinned.get("python", bool))
        pinned.reject_unknown()
    page_size = top.get("page_size", int)
    if page_size <= 0 or page_size & (page_size - 1):
        raise top.error("field 'page_size'", f"must be a power of two in bytes, got {page_size}")
    target = Target(
        name=name,
        aliases=top.string_list("aliases", []),
        source=source,
        debian_arch=top.get("debian_arch", str),
        multiarch=top.get("multiarch", str),
        qemu_arch=top.get("qemu_arch", (str, type(None))),
        elf=elf_identity,
        libc=top.choice("libc", LIBCS),
        page_size=page_size,
        cpu=top.get("cpu", (str, type(None)), None),
        triple=top.get("triple", str),
        wheel_platforms=top.string_list("wheel_platforms"),
        rootfs=recipe,
        timeouts=timeouts,
        image=image,
    )
    top.reject_unknown()
    if target.debian_arch not in OCI_PLATFORMS:
        raise top.error("field 'debian_arch'", f"must be one of {', '.join(OCI_PLATFORMS)}, got {target.debian_arch!r}")
    if target.cpu and not target.qemu_arch:
        raise top.error("field 'cpu'", "only applies to emulated targets (qemu_arch is empty)")
    return target


def load_target(path: Path) -> Target:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read target definition: {exc.strerror}")
    return parse_target(path, text)


class TargetCatalog:
    """Every target defined in a directory of ``*.yaml`` files, looked up by name or alias."""

    def __init__(self, targets: list[Target]):
        self.targets = {t.name: t for t in targets}
        self._by_alias: dict[str, Target] = {}
        for target in targets:
            for alias in (target.name, *target.aliases):
                other = self._by_alias.get(alias)
                if other is not None and other is not target:
                    raise ConfigError(
                        f"{target.source}: alias {alias!r} is also used by {other.source}",
                        fix="give each target its own names",
                    )
                self._by_alias[alias] = target

    @classmethod
    def load(cls, directory: Path | None = None) -> TargetCatalog:
        directory = directory or default_targets_dir()
        files = sorted(directory.glob("*.yaml"))
        if not files:
            raise ConfigError(f"no target definitions (*.yaml) in {directory}", fix="point --targets-dir at archsmoke's vms/")
        return cls([load_target(f) for f in files])

    @property
    def names(self) -> list[str]:
        return sorted(self.targets)

    def get(self, name: str) -> Target:
        target = self._by_alias.get(name)
        if target is None:
            raise ConfigError(
                f"unknown arch {name!r}; known arches: {', '.join(self.names)}",
                fix="pass one of those to --arch, or 'all'",
            )
        return target

    def select(self, names: list[str]) -> list[Target]:
        """Resolve --arch values (repeatable, comma-separated, or 'all') in a stable order."""
        wanted: list[Target] = []
        for value in names:
            for name in filter(None, (n.strip() for n in value.split(","))):
                chosen = list(self.targets.values()) if name == "all" else [self.get(name)]
                wanted.extend(t for t in chosen if t not in wanted)
        return wanted

    def with_libc(self, target: Target, libc: str) -> Target:
        """The target of the same architecture with the given C library (--libc musl: ppc64le -> ppc64le-musl)."""
        require_libc(libc)
        for other in self.targets.values():
            if other.debian_arch == target.debian_arch and other.libc == libc:
                return other
        having = sorted(t.name for t in self.targets.values() if t.libc == libc)
        raise ConfigError(f"no {libc} target for {target.name}; {libc} targets: {', '.join(having)}",
                          fix=f"drop --libc {libc}, or add a vms/{target.name}-{libc}.yaml")

    def native(self) -> Target | None:
        machine = platform.machine()
        return next((t for t in self.targets.values() if machine in (t.name, *t.aliases)), None)
