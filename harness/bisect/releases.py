"""The releases a bisect walks: every published release between two ends, in version order, with a build
for the target (the others are named and left out), from the product's origin."""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

from packaging.version import InvalidVersion, Version

from ..binary.product import Product
from ..errors import ConfigError
from ..origins import Origin
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


def between(product: Product, target: Target, first: str, second: str, origin: Origin) -> Releases:
    """The releases from the older of the two ends to the newer (the ends must exist and have builds)."""
    project = product.index_project
    ends = sorted({_version(first, project), _version(second, project)})
    if len(ends) == 1:
        raise ConfigError(f"--good and --bad are the same release ({first})",
                          fix="pass a release known to pass and another known to fail")
    published = origin.published(product, target)
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
