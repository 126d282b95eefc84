"""A product's published build for a target: its wheel for the target's platform, from a package index."""

from __future__ import annotations

import re

from ..cache import Cache, retire
from ..errors import BinaryError, ConfigError, DownloadError
from ..progress import Sink
from ..targets import Target
from . import index, npm
from .product import Product
from .unpack import BinaryUnderTest, prepare

# PEP 440 public versions as releases use them, or 'latest'; checked before anything starts.
_VERSION = re.compile(r"^(latest|[0-9]+(\.[0-9]+)*((a|b|rc)[0-9]+)?(\.post[0-9]+)?(\.dev[0-9]+)?)$")


def require_version(version: str, product: str = "the product") -> None:
    if not _VERSION.match(version):
        raise ConfigError(f"{version!r} is not a release version of {product}",
                          fix="pass a version number such as 0.13.9, or latest")


def download_release(product: Product, version: str, target: Target, cache: Cache, index_url: str | None = None,
                     sink: Sink | None = None, npm_registry: str | None = None) -> BinaryUnderTest:
    """The product's wheel for the target's platform (or its npm package, for a product published on npm);
    version 'latest' resolves to the newest release."""
    if product.npm is not None:
        return _checked(lambda: npm.fetch_release(product, version, target, cache, npm_registry, sink), product)
    project = product.index_project
    if version != "latest":
        # A pinned release is chosen offline by the same rule as on the index, among every wheel the index
        # listed for it (remembered at the first download): not among those cached, which may lack the one
        # this target's installer takes (uv's armv7 glibc build beside its static one).
        listed = _listing(cache, project, version)
        chosen = index.preferred(listed, target.wheel_platforms) if listed else None
        path = index.find_cached(cache, chosen.filename) if chosen is not None else None
        if path is not None:
            return prepare(path, cache, origin=f"{project} {version} (cached wheel {path.name})", version=version)
    url = index_url or index.default_index_url()
    files = index.list_files(url, project)
    chosen = index.choose_file(files, version, target.wheel_platforms, project=project)
    _remember_listing(cache, project, str(chosen.version), [f for f in files if f.version == chosen.version])
    path = index.fetch(cache, chosen, sink)
    resolved = str(chosen.version)
    try:
        return prepare(path, cache, origin=f"{project} {resolved} ({chosen.filename} from {url})", version=resolved)
    except BinaryError as error:
        retire(path.parent)  # keyed by its own hash: without this it would be reused as it is
        if chosen.sha256:  # it arrived as published: the build itself is not one archsmoke can test
            raise BinaryError(f"{chosen.filename} from {url} arrived intact (its sha256 matched the index's), but "
                              f"it is not a {product.name} build archsmoke can test: {error.problem}",
                              fix=error.fix or f"pass another release of {product.name}") from None
        raise DownloadError(f"{chosen.filename} downloaded from {url} is unusable: {error.problem}",
                            fix="try again; if it persists the index is serving a damaged file") from None


def _checked(download, product: Product) -> BinaryUnderTest:
    """An npm package arrived verified against its integrity: a build archsmoke cannot test is bad input."""
    try:
        return download()
    except BinaryError as error:
        raise BinaryError(f"a {product.name} package arrived intact (its integrity matched the registry's), but it "
                          f"is not a build archsmoke can test: {error.problem}",
                          fix=error.fix or f"pass another release of {product.name}") from None


LISTINGS = "index-listings"


def _listing_key(project: str, version: str) -> str:
    return f"{project}-{version}"


def _listing(cache: Cache, project: str, version: str) -> list[index.IndexFile]:
    entry = cache.lookup(LISTINGS, _listing_key(project, version), _listing_verifier)
    return [index.IndexFile(name, "", None, False) for name in entry.meta["wheels"]] if entry else []


def _listing_verifier(path, meta: dict) -> str:
    wheels = meta.get("wheels")
    return "" if isinstance(wheels, list) and wheels and all(isinstance(w, str) for w in wheels) else "no wheels"


def _remember_listing(cache: Cache, project: str, version: str, files: list[index.IndexFile]) -> None:
    wheels = sorted(f.filename for f in files if f.filename.endswith(".whl"))
    if wheels:  # a sound entry is kept as it is: a release's files do not change
        cache.ensure(LISTINGS, _listing_key(project, version), build=lambda work: {"wheels": wheels},
                     verify=_listing_verifier)
