"""Target definitions: parsed and validated from ``vms/*.yaml``, then looked up by name or alias."""

from __future__ import annotations

from pathlib import Path

import yaml

from .. import arches
from ..errors import ConfigError
from .fields import Fields
from .model import ELF_CLASSES, ENDIANS, LIBCS, ElfIdentity, RootfsRecipe, Target, TimeBudgets, require_libc
from .sections import Section


def default_targets_dir() -> Path:
    """The vms/ shipped inside the installed package, else the checkout's top-level vms/."""
    package = Path(__file__).resolve().parent.parent
    for candidate in (package / "vms", package.parent / "vms"):
        if candidate.is_dir():
            return candidate
    raise ConfigError(f"archsmoke's target definitions are missing (looked in {package / 'vms'})",
                      fix="reinstall archsmoke, or pass --targets-dir DIR")


class _UniqueKeyLoader(yaml.SafeLoader):
    """A YAML loader that refuses a key given twice in one mapping (plain YAML lets the last one win silently),
    and aliases: target definitions need none, and nested ones expand exponentially ("billion laughs")."""

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            raise yaml.composer.ComposerError(None, None, "aliases (*name) are not allowed in target definitions",
                                              self.peek_event().start_mark)
        return super().compose_node(parent, index)

    def construct_mapping(self, node, deep=False):
        seen: dict = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} is given twice (lines {seen[key] + 1} and {key_node.start_mark.line + 1})",
                    key_node.start_mark)
            seen[key] = key_node.start_mark.line
        return super().construct_mapping(node, deep)


def parse_target(source: Path, text: str, sections: tuple[Section, ...] = ()) -> Target:
    """A target from its YAML; `sections` are the tiers' own parts it may hold (each parsed by its tier)."""
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{source}: invalid YAML{where}: {problem}", fix=f"correct the syntax of {source.name}")
    top = Fields(source, data)
    name = top.get("arch", str)
    if source.stem != name:
        raise top.error("field 'arch'", f"must match the file name '{source.stem}', got {name!r}")
    libc = top.choice("libc", LIBCS)
    rootfs = top.section("rootfs")
    packages = rootfs.string_list("packages")
    if libc == "glibc":  # what a manylinux wheel may assume every system has (see MANYLINUX_PACKAGES)
        packages = (*packages, *(p for p in MANYLINUX_PACKAGES if p not in packages))
    python = rootfs.choice("python", ("musl", None), None)
    if python == "musl" and libc != "musl":
        raise rootfs.error("field 'rootfs.python'", "is 'musl', which only a musl target can have")
    recipe = RootfsRecipe(suite=rootfs.get("suite", str), packages=packages,
                          apt_options=rootfs.string_list("apt_options", []), python=python)
    rootfs.reject_unknown()
    budgets = top.section("timeouts")
    timeouts = TimeBudgets(build=budgets.positive("build"), start=budgets.positive("start"),
                           command=budgets.positive("command"), install=budgets.positive("install"))
    budgets.reject_unknown()
    owned = tuple((section.key, section.parse(top.section(section.key))) for section in sections
                  if section.key in top.data)
    page_size = top.get("page_size", int)
    if page_size <= 0 or page_size & (page_size - 1):
        raise top.error("field 'page_size'", f"must be a power of two in bytes, got {page_size}")
    debian_arch = top.choice("debian_arch", tuple(arches.ARCHES))
    elf_identity = _elf_identity(top, arches.ARCHES[debian_arch])
    target = Target(
        name=name,
        aliases=top.string_list("aliases", []),
        source=source,
        debian_arch=debian_arch,
        multiarch=top.get("multiarch", str),
        qemu_arch=top.get("qemu_arch", (str, type(None))),
        elf=elf_identity,
        libc=libc,
        page_size=page_size,
        cpu=top.get("cpu", (str, type(None)), None),
        triple=top.get("triple", str),
        wheel_platforms=top.string_list("wheel_platforms"),
        rootfs=recipe,
        timeouts=timeouts,
        sections=owned,
    )
    top.reject_unknown()
    if target.cpu and not target.qemu_arch:
        raise top.error("field 'cpu'", "only applies to emulated targets (qemu_arch is empty)")
    return target


# The Debian packages of the libraries the manylinux policy (PEP 599, auditwheel's policy list) lets a wheel
# assume on any glibc system beyond libc6 itself: a correct manylinux wheel that fails in a glibc root must
# fail on real machines too.  Left out: libGL.so.1, whose package pulls Mesa's drivers (about 100 MB a root).
MANYLINUX_PACKAGES = ("libgcc-s1", "libstdc++6", "libcrypt1", "libglib2.0-0", "libx11-6", "libxext6",
                      "libxrender1", "libice6", "libsm6")


def load_target(path: Path, sections: tuple[Section, ...] = ()) -> Target:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read target definition: {exc.strerror}")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: is not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset {exc.start})",
                          fix=f"save {path.name} as UTF-8") from None
    return parse_target(path, text, sections)


class TargetCatalog:
    """Every target defined in a directory of ``*.yaml`` files, looked up by name or alias."""

    def __init__(self, targets: list[Target]):
        self.targets = {t.name: t for t in targets}
        self._by_alias: dict[str, Target] = {}
        for target in targets:
            for alias in (target.name, *target.aliases):
                other = self._by_alias.get(alias)
                if other is not None and other is not target:
                    raise ConfigError(f"{target.source}: alias {alias!r} is also used by {other.source}",
                                      fix="give each target its own names")
                self._by_alias[alias] = target

    @classmethod
    def load(cls, directory: Path | None = None, sections: tuple[Section, ...] = ()) -> TargetCatalog:
        directory = directory or default_targets_dir()
        files = sorted(directory.glob("*.yaml"))
        if not files:
            raise ConfigError(f"no target definitions (*.yaml) in {directory}",
                              fix="point --targets-dir at a directory of target definitions like archsmoke's vms/")
        return cls([load_target(f, sections) for f in files])

    @property
    def names(self) -> list[str]:
        return sorted(self.targets)

    def get(self, name: str) -> Target:
        target = self._by_alias.get(name)
        if target is None:
            raise ConfigError(f"unknown arch {name!r}; known arches: {', '.join(self.names)}",
                              fix="pass one of those to --arch, or 'all'")
        return target

    def select(self, names: list[str]) -> list[Target]:
        """Resolve --arch values (repeatable, comma-separated, or 'all') in a stable order."""
        wanted: list[Target] = []
        for name in arch_words(names):
            chosen = list(self.targets.values()) if name == ALL else [self.get(name)]
            wanted.extend(t for t in chosen if t not in wanted)
        return wanted

    def default(self) -> list[Target]:
        """What runs without --arch or --binary: every emulated glibc target (the arches releases cross-build)."""
        return [t for t in self.targets.values() if t.libc == "glibc" and not t.runs_natively]

    def with_libc(self, target: Target, libc: str) -> Target:
        """The target of the same architecture with the given C library (--libc musl: ppc64le -> ppc64le-musl)."""
        require_libc(libc)
        for other in self.targets.values():
            if other.debian_arch == target.debian_arch and other.libc == libc:
                return other
        having = sorted(t.name for t in self.targets.values() if t.libc == libc)
        raise ConfigError(f"no {libc} target for {target.name}; {libc} targets: {', '.join(having)}",
                          fix=f"drop --libc {libc}, or add a vms/{target.name}-{libc}.yaml")


ALL = "all"


def arch_words(values: list[str]) -> list[str]:
    """The names in --arch values, as given: repeatable, comma-separated, blanks ignored, 'all' kept (the one
    parser of --arch, for the catalog and the run's --libc)."""
    return [name for value in values for name in (n.strip() for n in value.split(",")) if name]


def _elf_identity(top: Fields, arch: arches.Arch) -> ElfIdentity:
    """The ELF identity follows from debian_arch; an `elf` section may still state it, and must then agree."""
    derived = ElfIdentity(machine=arch.elf_machine, bits=arch.bits, endian=arch.endian)
    if "elf" not in top.data:
        return derived
    elf = top.section("elf")
    # field: (what it may say, what the arch says)
    fields = {"machine": (tuple(arches.ELF_MACHINES), derived.machine), "class": (ELF_CLASSES, derived.bits),
              "endian": (ENDIANS, derived.endian)}
    stated = {field: elf.choice(field, choices) for field, (choices, _) in fields.items() if field in elf.data}
    elf.reject_unknown()
    for field, value in stated.items():
        expected = fields[field][1]
        if value != expected:
            raise top.error(f"field 'elf.{field}'", f"says {value}, but debian_arch {arch.debian} is {expected}")
    return derived
