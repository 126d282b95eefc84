"""The package index origin (PEP 503: PyPI, a mirror, a loopback index): a release's wheel for the target's
platform, chosen as the target's installer would choose it."""

from __future__ import annotations

from ..binary import index
from ..binary.product import Product
from ..binary.unpack import BinaryUnderTest, prepare
from ..cache import Cache, retire
from ..errors import BinaryError, DownloadError
from ..progress import Sink
from ..targets import Target
from .base import Origin, OriginOption, Published

LISTINGS = "index-listings"


class PackageIndex(Origin):
    name = "index"
    option = OriginOption("--index-url", "index_url",
                          "package index to download releases from (default: $ARCHSMOKE_INDEX_URL, else pip's "
                          "index-url, else PyPI)")

    @classmethod
    def check(cls, where: str | None) -> None:
        index.require_http_option(where, cls.option.flag)

    @property
    def url(self) -> str:
        return self.where or index.default_index_url()

    def project(self, product: Product, target: Target) -> str:
        return product.index_project

    def fetch(self, product: Product, version: str, target: Target, cache: Cache,
              sink: Sink | None = None, python: tuple[int, int] | None = None) -> BinaryUnderTest:
        project = product.index_project
        if version != "latest":
            # A pinned release is chosen offline by the same rule as on the index, among every wheel the index
            # listed for it (remembered at the first download): not among those cached, which may lack the one
            # this target's installer takes (uv's armv7 glibc build beside its static one).
            listed = _listing(cache, project, version)
            chosen = index.preferred(listed, target.wheel_platforms, python) if listed else None
            path = index.find_cached(cache, chosen.filename) if chosen is not None else None
            if path is not None:
                return prepare(path, cache, origin=f"{project} {version} (cached wheel {path.name})", version=version)
        url = self.url
        files = index.list_files(url, project)
        chosen = index.choose_file(files, version, target.wheel_platforms, project=project, python=python)
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

    def published(self, product: Product, target: Target) -> Published:
        project = product.index_project
        files = [f for f in index.list_files(self.url, project) if f.filename.endswith(".whl") and f.version is not None]
        by_version: dict = {}
        for item in files:
            by_version.setdefault(item.version, []).append(item)
        return Published(self.url, project, {v: index.preferred(w, target.wheel_platforms) is not None
                                             for v, w in by_version.items()},
                         {v for v, w in by_version.items() if all(f.yanked for f in w)})


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
