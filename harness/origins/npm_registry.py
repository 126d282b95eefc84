"""The npm registry origin: a product's per-platform package (@esbuild/linux-ppc64) at a version."""

from __future__ import annotations

from packaging.version import InvalidVersion, Version

from ..binary import index, npm
from ..binary.product import Product
from ..binary.unpack import BinaryUnderTest
from ..cache import Cache
from ..errors import BinaryError, ConfigError, NoBinaryForTarget
from ..progress import Sink
from ..targets import Target
from .base import Origin, OriginOption, Published


class NpmRegistry(Origin):
    name = "npm"
    option = OriginOption("--npm-registry", "npm_registry",
                          "npm registry to download releases of products published on npm from (default: "
                          "$ARCHSMOKE_NPM_REGISTRY, else https://registry.npmjs.org)")

    @classmethod
    def check(cls, where: str | None) -> None:
        index.require_http_option(where, cls.option.flag)

    def project(self, product: Product, target: Target) -> str:
        return npm.package_for(product, target)

    def fetch(self, product: Product, version: str, target: Target, cache: Cache,
              sink: Sink | None = None, python: tuple[int, int] | None = None) -> BinaryUnderTest:
        try:
            return npm.fetch_release(product, version, target, cache, self.where, sink)
        except BinaryError as error:  # it arrived verified against its integrity: a build archsmoke cannot test
            raise BinaryError(f"a {product.name} package arrived intact (its integrity matched the registry's), but "
                              f"it is not a build archsmoke can test: {error.problem}",
                              fix=error.fix or f"pass another release of {product.name}") from None

    def published(self, product: Product, target: Target) -> Published:
        """Every version of the target's own package has a build (one package per platform)."""
        url = npm.registry_url(self.where)
        name = npm.package_for(product, target)
        try:
            found = npm.document(url, name)
        except NoBinaryForTarget:
            raise ConfigError(f"{product.name} publishes no package for {target.name} on {url} (no {name})",
                              fix=f"choose an arch {product.name} ships for") from None
        versions = {}
        for text in found["versions"]:
            try:
                versions[Version(text)] = True
            except InvalidVersion:
                continue
        return Published(url, name, versions)
