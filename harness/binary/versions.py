"""Is the version a program prints the release under test?  Packages re-release upstream versions (a wheel's
`2.0.0.1` or `3.18.2.post1` of upstream `2.0.0` / `3.18.2`), and programs print theirs with build words after
it (`2.0.0.build-7`, `v2.0.0-dirty`), so equality of strings would fail sound releases."""

from __future__ import annotations

import re

from packaging.version import InvalidVersion, Version

# A version as programs print it: an optional v, then at least two dot-separated numbers.
_PRINTED = re.compile(r"(?<![\w.])v?(\d+(?:\.\d+)+)")
AGREEING_COMPONENTS = 2  # fewer in common says nothing: "2" agrees with every 2.x


def release_numbers(version: str) -> tuple[int, ...]:
    """The numeric release of a package version (`2.0.0.post1` -> (2, 0, 0)); () if it is not one."""
    try:
        return Version(version).release
    except InvalidVersion:
        match = re.match(r"v?(\d+(?:\.\d+)*)", version)
        return tuple(int(part) for part in match.group(1).split(".")) if match else ()


def printed_numbers(text: str) -> list[tuple[int, ...]]:
    """Every version-like number in what a program printed, in order (`tool 2.0.0.build-7` -> [(2, 0, 0)])."""
    return [tuple(int(part) for part in match.group(1).split(".")) for match in _PRINTED.finditer(text)]


def same_release(printed: tuple[int, ...], package: tuple[int, ...]) -> bool:
    """Both agree on every component both have, and they have at least two in common."""
    common = min(len(printed), len(package))
    return common >= AGREEING_COMPONENTS and printed[:common] == package[:common]


def names_release(text: str, version: str) -> str | None:
    """The version in `text` that is the package's release `version`, None if none is."""
    package = release_numbers(version)
    exact = re.search(rf"(?<![\w.]){re.escape(version)}(?![\w.])", text)
    if exact:
        return exact.group(0)
    found = next((numbers for numbers in printed_numbers(text) if same_release(numbers, package)), None)
    return ".".join(map(str, found)) if found else None
