"""A product: a program that ships cross-built executables, described just enough to fetch, install and ask it.

uv is the first product archsmoke tests and ruff the second; any other project
describes its own in its conftest (see the README's "Testing your own binary")::

    Product("mytool", executables=("mytool",))
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import ConfigError

# A Rust/LLVM target triple as programs print it: arch-vendor-linux-abi.
TRIPLE = re.compile(r"\b[a-z0-9_]+-[a-z0-9_]+-linux-(?:gnu|musl)[a-z0-9_]*\b")


@dataclass(frozen=True)
class ReportedVersion:
    version: str
    triple: str | None  # the target triple the binary says it was built for, if it says one


@dataclass(frozen=True)
class Product:
    name: str  # as reports show it
    # The main one first, then the others its wheel or archive ships (uvx); none for a project whose native code
    # a runtime loads (an extension wheel: Product.of_project), tested through what its build ships.
    executables: tuple[str, ...]
    project: str | None = None  # its project on the package index, whose wheels carry the executables
    # Its per-platform npm package, {arch} being Node's word for the arch ("@esbuild/linux-{arch}"): --release
    # then downloads from the npm registry instead of the package index.
    npm: str | None = None
    # Where --release downloads it from: an origin's name (harness/origins); default "npm" for a product with an
    # npm package, else "index" (the package index).
    origin: str | None = None
    version_args: tuple[str, ...] = ("--version",)
    # Commands of the main executable whose exit code and output every arch's build must share with the
    # reference build (the build for this host's arch), beside --version and --help: ("--selftest",), ...
    compared: tuple[tuple[str, ...], ...] = ()
    # Matched against the first line of the version output; must have a 'version' group.
    version_pattern: str = r"\S+ (?P<version>[0-9][^\s()]*)(?: \((?P<details>[^)]*)\))?"

    library: bool = False  # its builds ship native libraries (extension modules) and maybe no executable

    def __post_init__(self) -> None:
        if not self.executables and not self.library:
            raise ConfigError(f"product {self.name!r} names no executables",
                              fix="give executables=('name', ...), or library=True for extension modules")
        if "(?P<version>" not in self.version_pattern:
            raise ConfigError(f"product {self.name!r}: version_pattern has no (?P<version>...) group")
        if self.npm is not None and "{arch}" not in self.npm:
            raise ConfigError(f"product {self.name!r}: npm={self.npm!r} does not say where the arch goes",
                              fix='name the per-platform package with {arch}, as in npm="@esbuild/linux-{arch}"')

    @classmethod
    def of_project(cls, project: str) -> "Product":
        """Any project archsmoke does not know, tested for whatever native code its build ships: on the package
        index, or, named with `{arch}` where Node's word for the arch goes, an npm per-platform package
        (`@rollup/rollup-linux-{arch}-gnu`)."""
        if "{arch}" in project:
            return cls(project, executables=(), npm=project, library=True)
        return cls(project, executables=(), project=project, library=True)

    @property
    def runtime_packages(self) -> tuple[str, ...]:
        """The Debian packages a target's root needs to load this product's libraries (npm addons: nodejs)."""
        return ("nodejs",) if self.library and self.npm is not None else ()

    @property
    def main(self) -> str:
        if not self.executables:
            raise ConfigError(f"product {self.name!r} names no executable", fix="ask its build's executables")
        return self.executables[0]

    @property
    def index_project(self) -> str:
        return self.project or self.name

    @property
    def origin_name(self) -> str:
        return self.origin or ("npm" if self.npm is not None else "index")

    def parse_version(self, output: str) -> ReportedVersion | None:
        """The version (and triple) from the output of `main --version`, None if it does not match."""
        first = output.strip().splitlines()[0] if output.strip() else ""
        match = re.fullmatch(self.version_pattern, first.strip())
        if not match:
            return None
        triple = TRIPLE.search(first)
        return ReportedVersion(match.group("version"), triple.group(0) if triple else None)


UV = Product("uv", executables=("uv", "uvx"))
RUFF = Product("ruff", executables=("ruff",))
# Go, published on npm as one package per platform; `esbuild --version` prints the bare version.
ESBUILD = Product("esbuild", executables=("esbuild",), npm="@esbuild/linux-{arch}",
                  version_pattern=r"(?P<version>[0-9][^\s()]*)")
PRODUCTS: dict[str, Product] = {p.name: p for p in (UV, RUFF, ESBUILD)}


def product_named(name: str) -> Product:
    try:
        return PRODUCTS[name]
    except KeyError:
        raise ConfigError(f"unknown product {name!r}; built in: {', '.join(sorted(PRODUCTS))}",
                          fix="pass one of those to --product, or define the archsmoke_product fixture "
                              "in your conftest (see the README)") from None


def product_for_release(name: str) -> Product:
    """The product `--release NAME=VERSION` names: a built-in one, else that project on the package index."""
    return PRODUCTS.get(name) or Product.of_project(name)


def known_executables() -> set[str]:
    return {name for product in PRODUCTS.values() for name in product.executables}
