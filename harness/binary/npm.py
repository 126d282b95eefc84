"""Releases from the npm registry, for products that publish one package per platform (esbuild's
@esbuild/linux-ppc64 and many Rust and Go tools): the package for a target is resolved from its metadata
document, downloaded into the same cache as wheels, and verified against the registry's `integrity`
(sha512) as wheels are against the index's sha256."""

from __future__ import annotations

import json
import os
import urllib.parse

from ..cache import Cache
from ..errors import DownloadError, NoBinaryForTarget
from ..progress import Sink
from ..targets import Target
from . import index
from .product import Product

DEFAULT_REGISTRY = "https://registry.npmjs.org"
ENV_REGISTRY = "ARCHSMOKE_NPM_REGISTRY"
LISTINGS = "npm-listings"  # (package, version) -> the file and hashes: a pinned release is found offline


def registry_url(explicit: str | None = None) -> str:
    return (explicit or os.environ.get(ENV_REGISTRY) or DEFAULT_REGISTRY).rstrip("/")


def package_for(product: Product, target: Target) -> str:
    assert product.npm is not None
    return product.npm.format(arch=target.arch.npm)


def document(registry: str, name: str) -> dict:
    """The registry's metadata document of a package (every version, its tarball and integrity)."""
    url = f"{registry}/{urllib.parse.quote(name, safe='@')}"
    try:
        with index.open_url(url, accept="application/json", option="--npm-registry") as response:
            body = b"".join(index.read_chunks(response, url, index.PAGE_DEADLINE))
    except DownloadError as error:
        if "HTTP 404" in error.problem:
            raise NoBinaryForTarget(f"no release ships for this target: the npm registry {registry} has no package "
                                    f"{name}",
                                    fix="check the product's npm name, or the arch: not every tool ships for every "
                                        "arch") from None
        raise
    try:
        found = json.loads(body)
    except ValueError:
        raise DownloadError(f"{url} did not answer with JSON ({body[:80]!r})",
                            fix="check --npm-registry: it must be an npm registry") from None
    if not isinstance(found, dict) or not isinstance(found.get("versions"), dict):
        raise DownloadError(f"{url} is not an npm package document (no versions)",
                            fix="check --npm-registry: it must be an npm registry")
    return found


def resolve(found: dict, name: str, version: str) -> tuple[str, str, str]:
    """(version, tarball URL, integrity) of `version` ('latest': the registry's latest tag)."""
    tags = found.get("dist-tags")
    wanted = (tags.get("latest") if isinstance(tags, dict) else None) if version == "latest" else version
    release = found["versions"].get(wanted) if isinstance(wanted, str) else None
    if not isinstance(release, dict):
        newest = sorted(found["versions"], key=_order, reverse=True)[:5]
        raise DownloadError(f"{name} {version} is not published on the npm registry (newest: {', '.join(newest)})",
                            fix="pass an existing version to --release, or 'latest'")
    dist = release.get("dist")
    tarball, integrity = (dist.get("tarball"), dist.get("integrity")) if isinstance(dist, dict) else (None, None)
    if not isinstance(tarball, str) or not isinstance(integrity, str):
        raise DownloadError(f"{name} {wanted} has no tarball with an integrity in the registry's document",
                            fix="archsmoke verifies every download: use a registry that publishes integrity")
    index.require_http(tarball, f"the npm registry's document of {name} {wanted}")
    return wanted, tarball, integrity


def _order(version: str):
    from packaging.version import InvalidVersion, Version

    try:
        return (1, Version(version))
    except InvalidVersion:
        return (0, version)


def fetch_release(product: Product, version: str, target: Target, cache: Cache, registry: str | None = None,
                  sink: Sink | None = None):
    """The product's package for the target, downloaded (or reused: a pinned release is found offline)."""
    from .unpack import prepare

    name = package_for(product, target)
    if version != "latest":
        known = cache.lookup(LISTINGS, _key(name, version))
        path = index.find_cached(cache, known.meta["file"]) if known else None
        if path is not None:
            return prepare(path, cache, origin=f"{name} {version} (cached {path.name})", version=version)
    url = registry_url(registry)
    resolved, tarball, integrity = resolve(document(url, name), name, version)
    filename = urllib.parse.unquote(urllib.parse.urlsplit(tarball).path.rsplit("/", 1)[-1]) or \
        f"{name.replace('/', '-')}-{resolved}.tgz"
    index.download_name(filename, tarball, f"the npm registry's document of {name} {resolved}")
    path = index.fetch(cache, index.IndexFile(filename, tarball, None, False), sink, integrity=integrity)
    cache.ensure(LISTINGS, _key(name, resolved), build=lambda work: {"file": path.name, "integrity": integrity})
    return prepare(path, cache, origin=f"{name} {resolved} ({path.name} from {url})", version=resolved)


def _key(name: str, version: str) -> str:
    return f"{name.replace('/', '--').lstrip('@')}-{version}"
