"""The binary under test as given: a bare executable, or a file of one of the formats in formats/ (wheels,
tar and zip release archives), unpacked on the host.

Wheels and archives are unpacked once into the cache (keyed by the file's
sha256); every ELF executable in them is kept under its own name, so any
product's executables (uv and uvx, ruff, ...) come out the same way.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

from ..cache import Cache, files_verifier, hash_listing, sha256_file
from ..errors import BinaryError
from .elf import ElfInfo, read_elf
from . import formats
from .product import Product

KIND = "binaries"
# Bump when the formats find other members or record more of them (the key is the file's sha256 and this).
FORMAT = 5


@dataclass(frozen=True)
class BinaryUnderTest:
    """One build for one architecture, unpacked and inspected, ready to install."""

    kind: str  # "executable", or a format's KIND: "wheel", "archive", "npm"
    origin: str  # what the user gave, for reports
    file: Path  # the file as given or downloaded
    sha256: str  # of that file
    executables: tuple[Path, ...]  # on the host, each under its own name
    elf: ElfInfo  # of the first executable (all of one build share machine and libc)
    version: str | None  # known from a wheel's name, an npm package.json or a download; None for a bare executable
    project: str | None = None  # a wheel's distribution name, an npm package's name
    package_data: tuple[tuple[str, str], ...] = ()  # (name, path in the wheel) of executables kept as data
    defects: tuple[str, ...] = ()  # what is wrong with the file as published (an npm `bin` naming nothing)
    platform: tuple[tuple[str, tuple[str, ...]], ...] = ()  # its manifest's platform fields: (("cpu", ("arm64",)),)
    # Native code a runtime loads: (the file on the host, its path inside the wheel or package), and what users
    # load it as (a wheel's top-level packages and extension modules).
    libraries: tuple[tuple[Path, str], ...] = ()
    modules: tuple[str, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.executables)

    @functools.cached_property
    def library_elfs(self) -> tuple[ElfInfo, ...]:
        """Each native library's ELF facts, in the order of `libraries` (read once per build: the label and the
        loader checks of every target ask)."""
        return tuple(read_elf(host_file) for host_file, _ in self.libraries)

    @property
    def is_library(self) -> bool:
        """Native code a runtime loads, and no executable of its own (an extension wheel, an addon package)."""
        return not self.executables and bool(self.libraries)

    @property
    def library_project(self) -> str | None:
        """The project a library build is of, as a product names it: a wheel's distribution; an npm per-platform
        package with its `cpu` word as {arch} (`@scope/addon-linux-{arch}-gnu`), one name for every arch's."""
        if self.project is None or self.kind != "npm":
            return self.project
        for word in dict(self.platform).get("cpu", ()):
            if f"-{word}" in self.project:
                return self.project.replace(f"-{word}", "-{arch}", 1)
        return self.project

    def provides(self, product: Product) -> bool:
        if not product.executables:
            return self.library_project is not None and _normal(self.library_project) == _normal(product.name)
        return product.main in self.names

    def main_for(self, product: Product) -> Path:
        """The product's main executable in this build (a bare executable is it, whatever its file name)."""
        if self.kind == "executable":
            return self.executables[0]
        if self.is_library:
            raise BinaryError(f"{self.origin} ships no executable, only native libraries "
                              f"({', '.join(inside for _, inside in self.libraries[:3])})",
                              fix=f"test it as a library (pytest --pyargs archsmoke.generic --binary ...), not as "
                                  f"{product.name}")
        found = next((p for p in self.executables if p.name == product.main), None)
        if found is None:
            raise BinaryError(f"{self.origin} holds {', '.join(self.names) or 'no executables'}, not {product.main}",
                              fix=f"pass a {product.name} build")
        return found

    def extras_for(self, product: Product) -> tuple[Path, ...]:
        """The product's other executables shipped beside the main one (uvx beside uv)."""
        return tuple(p for p in self.executables if p.name in product.executables[1:])

    def names_for(self, product: Product) -> tuple[str, ...]:
        """The names of the product's executables in this build, the main one first (uv, uvx); for a product
        that names none (a project's extension wheel), every executable the build ships."""
        if not product.executables:
            return self.names
        return (product.main, *(extra.name for extra in self.extras_for(product)))


def _normal(project: str) -> str:
    """A project's name as PEP 503 compares them (MarkupSafe, markupsafe; a_b, a-b)."""
    return re.sub(r"[-_.]+", "-", project).lower()


def _head(path: Path) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read(8)
    except OSError as exc:
        raise BinaryError(f"cannot read {path}: {exc.strerror}", fix="check the path given to --binary") from None


def _unpacked(path: Path, sha: str, cache: Cache, form):
    """(executables, package data, what the file says it is), unpacked once per file content."""
    def build(work: Path) -> dict:
        found = form.members(path, work)
        return {"source": path.name, "order": found.names,
                "files": hash_listing(work, [*found.names, *found.libraries]),
                "package_data": found.inside if found.package_data else {},
                "project": found.project, "version": found.version, "defects": found.defects,
                "platform": found.platform, "libraries": found.libraries, "modules": found.modules}

    entry = cache.ensure(KIND, f"{sha}-{FORMAT}", build=build, verify=files_verifier(ordered=True))
    data = entry.meta.get("package_data")
    data = tuple((str(k), str(v)) for k, v in data.items()) if isinstance(data, dict) else ()
    said = {k: entry.meta[k] for k in ("project", "version") if isinstance(entry.meta.get(k), str)}
    said["defects"] = tuple(str(d) for d in entry.meta.get("defects") or ())
    platform = entry.meta.get("platform")
    said["platform"] = tuple((str(k), tuple(map(str, v))) for k, v in platform.items()) \
        if isinstance(platform, dict) else ()
    libraries = entry.meta.get("libraries")
    said["libraries"] = tuple((entry.path / str(k), str(v)) for k, v in libraries.items()) \
        if isinstance(libraries, dict) else ()
    said["modules"] = tuple(str(m) for m in entry.meta.get("modules") or ())
    return tuple(entry.path / name for name in entry.meta["order"]), data, said


def prepare(path: Path, cache: Cache, origin: str | None = None, version: str | None = None) -> BinaryUnderTest:
    """Unpack and inspect a local file given as --binary (or downloaded)."""
    path = Path(path)
    if not path.is_file():
        raise BinaryError(f"{path} does not exist or is not a file", fix="check the path given to --binary")
    head = _head(path)  # before hashing: a file that is none of these is refused at once, whatever its size
    form = formats.format_of(path, head)
    if form is None and not head.startswith(formats.ELF_MAGIC):
        raise BinaryError(f"{path} is none of {formats.described()} (it starts with {head[:4]!r})",
                          fix="pass the executable itself, a wheel or a release archive")
    sha = sha256_file(path)
    project, named_version, data, defects, platform, libraries, modules = None, None, (), (), (), (), ()
    if form is None:
        kind, executables = "executable", (path,)
    else:
        kind = form.KIND
        executables, data, said = _unpacked(path, sha, cache, form)
        project, named_version, defects, platform = said.get("project"), said.get("version"), said["defects"], \
            said["platform"]
        libraries, modules = said["libraries"], said["modules"]
        if form is formats.wheel:
            project, named_version = formats.wheel.name_and_version(path)
    elf = read_elf(executables[0] if executables else libraries[0][0])
    return BinaryUnderTest(kind=kind, origin=origin or str(path), file=path, sha256=sha, executables=executables,
                           elf=elf, version=version or named_version, project=project, package_data=data,
                           defects=defects, platform=platform, libraries=libraries, modules=modules)

