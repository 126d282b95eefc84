"""Origins by name: where --release downloads a product's builds from.  A product names its origin
(Product.origin; default: "npm" for a product with an npm package, else "index").  Adding an origin: a module
here with an Origin subclass, and one line registering it below (or `register(...)` from a plugin)."""

from __future__ import annotations

from typing import Iterable

from ..binary.product import Product
from ..binary.unpack import BinaryUnderTest
from ..cache import Cache
from ..errors import ConfigError
from ..progress import Sink
from ..targets import Target
from .base import Origin, OriginOption, Published
from .npm_registry import NpmRegistry
from .package_index import PackageIndex

ORIGINS: dict[str, type[Origin]] = {}


def register(origin: type[Origin]) -> type[Origin]:
    """Make an origin available to products, pytest's and bisect's options."""
    if origin.name in ORIGINS and ORIGINS[origin.name] is not origin:
        raise ConfigError(f"two origins are named {origin.name!r}: {ORIGINS[origin.name].__module__} and "
                          f"{origin.__module__}", fix="give the new origin a name of its own")
    flags = {o.option.flag: o.name for o in ORIGINS.values() if o is not origin}
    if origin.option.flag in flags:
        raise ConfigError(f"origin {origin.name}'s option {origin.option.flag} is origin {flags[origin.option.flag]}'s",
                          fix="give the new origin an option of its own")
    ORIGINS[origin.name] = origin
    return origin


for _origin in (PackageIndex, NpmRegistry):
    register(_origin)


class Origins:
    """A run's origins, each told where it is by its option's value (None: its default)."""

    def __init__(self, values: dict[str, str | None] | None = None):
        values = values or {}
        self._where = {origin.name: values.get(origin.option.dest) for origin in ORIGINS.values()}
        for origin in ORIGINS.values():
            origin.check(self._where[origin.name])

    def for_product(self, product: Product) -> Origin:
        origin = ORIGINS.get(product.origin_name)
        if origin is None:
            raise ConfigError(f"product {product.name!r} is published on origin {product.origin_name!r}, but no "
                              f"registered origin has that name (known: {', '.join(sorted(ORIGINS))})",
                              fix="register that origin (archsmoke.origins.register) or name a known one")
        return origin(self._where[origin.name])

    def argv(self) -> list[str]:
        """The options that give a child run (a bisect step) the same origins."""
        return [arg for name, where in self._where.items() if where for arg in (ORIGINS[name].option.flag, where)]

def options() -> Iterable[OriginOption]:
    return [origin.option for origin in ORIGINS.values()]


def download_release(product: Product, version: str, target: Target, cache: Cache, sink: Sink | None = None,
                     **where: str | None) -> BinaryUnderTest:
    """One release's build for a target from the product's origin, told where it is by its option's dest
    (index_url=..., npm_registry=...; default: its own default)."""
    return Origins(where).for_product(product).fetch(product, version, target, cache, sink)


__all__ = ["ORIGINS", "Origin", "OriginOption", "Origins", "Published", "download_release", "options", "register"]
