"""Putting the binary under test into a started target the way users install it."""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field, replace

from .binary.elf import check_runs_on
from .binary.label import covers
from .binary.product import Product
from .binary.unpack import BinaryUnderTest
from .errors import BinaryError, NoBinaryForTarget, ReleaseDefect, TargetError
from .host.binfmt import FLOOR_MARK, FLOOR_MARK_OFFSET
from .installers import INSTALL_PREFIX, INSTALLERS, copy_onto_path, root_glibc, wheel_glibc_floor
from .tiers.base import Runner

__all__ = ["INSTALL_PREFIX", "InstalledBinary", "as_the_loader_sees_it", "check_glibc", "check_loader", "install",
           "mark_for_cpu_floor", "unmark", "wheel_glibc_floor"]


@dataclass(frozen=True)
class InstalledBinary:
    binary: BinaryUnderTest
    product: Product
    bin_dir: str  # inside the target
    env: dict[str, str] = field(default_factory=dict)  # PATH with bin_dir first
    real: dict[str, str] = field(default_factory=dict)  # name -> its ELF file, where PATH has a launcher for it
    python: str | None = None  # the venv's interpreter a wheel went into (what loads its extension modules)
    node: str | None = None  # the Node.js that loads an npm package's addons
    package_dir: str | None = None  # where an npm package was placed (node_modules/NAME): what require(NAME) finds
    libraries: dict[str, str] = field(default_factory=dict)  # native library: path inside the build -> in the target
    marked: tuple[str, ...] = ()  # the files marked to run at the CPU floor (on a natively run target)

    @property
    def path(self) -> str:
        return f"{self.bin_dir}/{self.product.main}"

    @property
    def first_command(self) -> list[str]:
        """What tells whether the build can run in the target at all: its version, or (a library) that the
        interpreter which loads it starts."""
        if self.binary.is_library and self.python is not None:
            return [self.python, "-c", "import sys"]
        if self.binary.is_library and self.node is not None:
            return [self.node, "-e", "0"]
        return [self.path, *self.product.version_args]

    def executable(self, name: str | None = None) -> str:
        return f"{self.bin_dir}/{name or self.product.main}"

    def real_executable(self, name: str | None = None) -> str:
        """The ELF file itself (a wheel's package data sits behind a launcher on PATH)."""
        name = name or self.product.main
        return self.real.get(name) or self.executable(name)

    @property
    def install_dirs(self) -> tuple[str, ...]:
        """Where its files are in the target (PATH's directory, and the package data's behind a launcher)."""
        return tuple(dict.fromkeys((self.bin_dir, *(path.rsplit("/", 1)[0] for path in self.real.values()))))

    def command(self, *args: str) -> str:
        return shlex.join([self.path, *args])


def check_loader(binary: BinaryUnderTest, runner: Runner) -> None:
    target = runner.target
    loader = binary.elf.interpreter
    if not loader or runner.file_exists(loader):
        return
    if loader == target.loader:  # the ABI's own path: the root is at fault, not the build
        raise TargetError(f"the {target.name} root has no {loader}, where {target.libc} programs of this arch find "
                          f"their dynamic loader: the root is incomplete, not {binary.origin}",
                          fix=f"report it to archsmoke's maintainers, naming the target (vms/{target.source.name})")
    if binary.elf.libc != target.libc:
        raise BinaryError(f"{binary.origin} needs the dynamic loader {loader} ({binary.elf.libc}), but {target.name} "
                          f"is a {target.libc} system, whose loader is {target.loader}",
                          fix=f"pass a {target.libc} or static build for {target.name}")
    raise BinaryError(f"{binary.origin} needs the dynamic loader {loader}, which no {target.libc} system of this arch "
                      f"has: {target.name}'s is {target.loader}",
                      fix=f"link it with --dynamic-linker={target.loader} (the ABI's path)")


def check_glibc(binary: BinaryUnderTest, runner: Runner, labelled: bool = False) -> None:
    """A glibc root must be new enough for the glibc symbol versions the binary references and, for a
    wheel, for its manylinux tag (the target's pip refuses a wheel whose tag the root does not reach)."""
    if runner.target.libc != "glibc":
        return
    needs = []
    if binary.elf.libc == "glibc" and binary.elf.glibc_needed is not None:
        needs.append((binary.elf.glibc_needed, "it references GLIBC_{}.{}".format(*binary.elf.glibc_needed)))
    tag = INSTALLERS[binary.kind].glibc_floor(binary) if binary.kind in INSTALLERS else None
    floor = tag if runner.has_python else None  # without Python, no pip checks the tag
    if floor is not None:
        needs.append((floor[0], f"its wheel is tagged {floor[1]}"))
    if not needs:
        return
    found = root_glibc(runner)
    if found is None:
        return  # check_loader already refused a root without the loader
    provided, where = found
    needed, why = max(needs)
    if needed > provided and labelled and tag is not None and tag[0] <= provided:
        raise ReleaseDefect(
            f"{binary.origin} is tagged {tag[1]}, which admits {runner.target.name}'s glibc "
            f"{provided[0]}.{provided[1]} ({where}), but {why}: it cannot start there",
            fix="build against the glibc the tag names (a manylinux container), or tag the wheel for the glibc it needs")
    if needed > provided:
        raise BinaryError(
            f"{binary.origin} needs glibc {needed[0]}.{needed[1]} ({why}), "
            f"but the {runner.target.name} root has glibc {provided[0]}.{provided[1]} ({where})",
            fix=f"pass a build for glibc {provided[0]}.{provided[1]} or older (a lower manylinux tag), "
                "or a target whose root has a newer glibc")


def install(binary: BinaryUnderTest, product: Product, runner: Runner, index_url: str | None = None) -> InstalledBinary:
    """A wheel into a venv by the target's own pip; executables onto PATH under the product's names.

    A target without Python (the musl roots) gets a wheel's executables onto PATH instead.
    """
    target = runner.target
    labelled = covers(binary, target)
    try:
        check_runs_on(binary.elf, target)
        check_loader(binary, runner)
    except BinaryError as error:
        if not labelled:
            raise
        # The build says it is for this platform: that it cannot run here is the release's defect.
        raise ReleaseDefect(f"{binary.origin} is labelled for {target.name}, but {error.problem}",
                            fix="fix the release's build or its label (archsmoke cannot install it as published)") \
            from None
    check_glibc(binary, runner, labelled)
    installer = INSTALLERS.get(binary.kind)
    if installer is not None and installer.applies(binary, runner):
        placed = installer.install(binary, product, runner, index_url=index_url)
    elif binary.is_library:
        raise NoBinaryForTarget(f"{binary.origin} holds native libraries only, and the {target.name} root has no "
                                f"runtime to load them", fix=f"add the runtime to vms/{target.source.name}")
    else:
        placed = copy_onto_path(binary, product, runner)
    names = binary.names_for(product)
    installed = InstalledBinary(binary=binary, product=product, bin_dir=placed.bin_dir, real=placed.real,
                                env={"PATH": f"{placed.bin_dir}:{runner.environment()['PATH']}"},
                                python=placed.python, node=placed.node, package_dir=placed.package_dir,
                                libraries=placed.libraries)
    if runner.marks_binary_under_test:
        # Executables run at the floor themselves; a library runs in the interpreter that loads it.
        marked = [installed.real_executable(name) for name in names]
        marked += [runtime for runtime in (placed.python, placed.node) if binary.libraries and runtime]
        mark_for_cpu_floor(runner, marked)
        installed = replace(installed, marked=tuple(marked))
    return installed


_MARK_SCRIPT = (f'for f; do printf {FLOOR_MARK.decode()} | dd of="$f" bs=1 seek={FLOOR_MARK_OFFSET} '
                f'count={len(FLOOR_MARK)} conv=notrunc 2>/dev/null && head -c {FLOOR_MARK_OFFSET + len(FLOOR_MARK)} "$f" '
                f'| tail -c {len(FLOOR_MARK)} && echo; done')


def as_the_loader_sees_it(runner: Runner, path: str) -> str:
    """The installed executable to hand the target's loader itself (`LOADER --list PATH`): glibc's loader
    refuses archsmoke's CPU-floor mark ("nonzero padding in e_ident"), so a marked one is copied unmarked."""
    if not runner.marks_binary_under_test:
        return path
    copy = runner.own_path(f"/tmp/archsmoke-unmarked/{path.rsplit('/', 1)[-1]}")
    runner.run(["/bin/sh", "-c", 'mkdir -p "${2%/*}" && cp "$1" "$2"', "copy", path, copy]).check()
    unmark(runner, [copy])
    return copy


def unmark(runner: Runner, paths: list[str]) -> None:
    """Take the CPU-floor mark off again: the executables then run natively, at this host's CPU."""
    zeros = f'head -c {len(FLOOR_MARK)} /dev/zero | dd of="$f" bs=1 seek={FLOOR_MARK_OFFSET} count={len(FLOOR_MARK)} ' \
            f'conv=notrunc 2>/dev/null'
    runner.run(["/bin/sh", "-c", f'for f; do {zeros} || exit 1; done', "unmark", *paths]).check()


def mark_for_cpu_floor(runner: Runner, paths: list[str]) -> None:
    """On a natively run target, the installed executables carry the mark that makes binfmt_misc run them
    through qemu-user at the CPU floor (host/binfmt.py); read back, so an unmarked binary never passes as floored."""
    result = runner.run(["/bin/sh", "-c", _MARK_SCRIPT, "mark", *paths]).check()
    if result.stdout.split() != [FLOOR_MARK.decode()] * len(paths):
        raise TargetError(f"marking {', '.join(paths)} for the CPU floor failed in {runner.where}: "
                          f"read back {result.stdout!r}", fix="check that the target's dd, head and tail work")
