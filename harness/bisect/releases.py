"""The releases a bisect walks: every published release between two ends, in version order, with a build
for the target (the others are named and left out), from the package index or the npm registry."""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

from packaging.version import InvalidVersion, Version

from ..binary import index, npm
from ..binary.product import Product
from ..errors import ConfigError, NoBinaryForTarget
from ..targets import Target


@dataclass
class Releases:
    versions: list[str]  # oldest first, both ends included
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (version, why it is not tried)


def _version(text: str, project: str) -> Version:
    try:
        return Version(text)
    except InvalidVersion:
        raise ConfigError(f"{text!r} is not a version number of {project}",
                          fix="pass release versions such as 0.2.5 to --good and --bad") from None


@dataclass
class Published:
    where: str  # the index or registry URL
    project: str  # as it is named there
    builds: dict[Version, bool]  # version -> whether it has a build for the target
    yanked: set[Version] = field(default_factory=set)


def _from_npm(product: Product, target: Target, registry: str | None) -> Published:
    """Every version of the target's own package has a build (one package per platform)."""
    url = npm.registry_url(registry)
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


def _from_index(project: str, target: Target, index_url: str | None) -> Published:
    url = index_url or index.default_index_url()
    files = [f for f in index.list_files(url, project) if f.filename.endswith(".whl") and f.version is not None]
    by_version: dict[Version, list[index.IndexFile]] = {}
    for item in files:
        by_version.setdefault(item.version, []).append(item)
    return Published(url, project, {v: index.preferred(w, target.wheel_platforms) is not None
                                    for v, w in by_version.items()},
                     {v for v, w in by_version.items() if all(f.yanked for f in w)})


def between(product: Product, target: Target, first: str, second: str, index_url: str | None = None,
            npm_registry: str | None = None) -> Releases:
    """The releases from the older of the two ends to the newer (the ends must exist and have builds): from the
    npm registry for a product published there, else from the package index."""
    project = product.index_project
    ends = sorted({_version(first, project), _version(second, project)})
    if len(ends) == 1:
        raise ConfigError(f"--good and --bad are the same release ({first})",
                          fix="pass a release known to pass and another known to fail")
    published = _from_npm(product, target, npm_registry) if product.npm is not None else \
        _from_index(project, target, index_url)
    url, project, builds, yanked = published.where, published.project, published.builds, published.yanked
    for end in ends:
        if end not in builds:
            known = sorted(builds)
            at = bisect.bisect_left(known, end)
            near = known[max(0, at - 2):at + 2]
            raise ConfigError(f"{project} {end} is not a release on {url} (near it: {', '.join(map(str, near))})",
                              fix="pass published versions to --good and --bad")
        if not builds[end]:
            raise ConfigError(f"{project} {end} has no build for {target.name} (platforms "
                              f"{', '.join(target.wheel_platforms)})",
                              fix=f"choose releases that ship for {target.name}, or another --arch")
    releases = Releases([])
    for version in sorted(v for v in builds if ends[0] <= v <= ends[1]):
        if version.is_prerelease and version not in ends:
            releases.skipped.append((str(version), "a pre-release"))
        elif version in yanked and version not in ends:
            releases.skipped.append((str(version), "yanked"))
        elif not builds[version]:
            releases.skipped.append((str(version), f"no build for {target.name}"))
        else:
            releases.versions.append(str(version))
    return releases
