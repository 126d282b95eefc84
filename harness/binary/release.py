"""Release versions as --release takes them (the builds themselves come from an origin: harness/origins)."""

from __future__ import annotations

import re

from ..errors import ConfigError

# PEP 440 public versions as releases use them, or 'latest'; checked before anything starts.
_VERSION = re.compile(r"^(latest|[0-9]+(\.[0-9]+)*((a|b|rc)[0-9]+)?(\.post[0-9]+)?(\.dev[0-9]+)?)$")


def require_version(version: str, product: str = "the product") -> None:
    if not _VERSION.match(version):
        raise ConfigError(f"{version!r} is not a release version of {product}",
                          fix="pass a version number such as 0.13.9, or latest")
