"""A product's published build for a target: its wheel for the target's platform, from a package index."""

from __future__ import annotations

import re

from ..cache import Cache, retire
from ..errors import BinaryError, ConfigError, DownloadError
from ..progress import Sink
from ..targets import Target
from . import index
from .product import Product
from .unpack import BinaryUnderTest, prepare

# PEP 440 public versions as releases use them, or 'latest'; checked before anything starts.
_VERSION = re.compile(r"^(latest|[0-9]+(\.[0-9]+)*((a|b|rc)[0-9]+)?(\.post[0-9]+)?(\.dev[0-9]+)?)$")


def require_version(version: str, product: str = "the product") -> None:
    if not _VERSION.match(version):
        raise ConfigError(f"{version!r} is not a release version of {product}",
                          fix="pass a version number such as 0.13.9, or latest")


def download_release(product: Product, version: str, target: Target, cache: Cache, index_url: str | None = None,
                     sink: Sink | None = None) -> BinaryUnderTest:
    """The product's wheel for the target's platform; version 'latest' resolves to the newest release."""
    project = product.index_project
    if version != "latest":
        # A pinned release is chosen among the cached wheels by the same rule as on the index (offline).
        names = {path.name for path in (cache.root / index.KIND).glob(f"*/{project}-{version}-*.whl")}
        cached = [index.IndexFile(name, "", None, False) for name in sorted(names)]
        chosen = index.preferred(cached, target.wheel_platforms)
        path = index.find_cached(cache, chosen.filename) if chosen is not None else None
        if path is not None:
            return prepare(path, cache, origin=f"{project} {version} (cached wheel {path.name})", version=version)
    url = index_url or index.default_index_url()
    chosen = index.choose_file(index.list_files(url, project), version, target.wheel_platforms, project=project)
    path = index.fetch(cache, chosen, sink)
    resolved = str(chosen.version)
    try:
        return prepare(path, cache, origin=f"{project} {resolved} ({chosen.filename} from {url})", version=resolved)
    except BinaryError as error:
        retire(path.parent)  # keyed by its own hash: without this it would be reused as it is
        raise DownloadError(f"{chosen.filename} downloaded from {url} is unusable: {error.problem}",
                            fix="try again; if it persists the index is serving a damaged file") from None
