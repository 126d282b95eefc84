"""The container tier's part of a target's YAML (`image:`): a published image for `--image-source pinned`."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ...targets import Target
from ...targets.fields import Fields
from ...targets.sections import Section

_DIGEST_REF = re.compile(r"^[a-z0-9][a-z0-9._:/-]*@sha256:[0-9a-f]{64}$")


@dataclass(frozen=True)
class PinnedImage:
    """A published container image for the container tier, pinned by digest (``--image-source pinned``)."""

    ref: str  # registry/name@sha256:<64 hex>
    has_python: bool

    @property
    def digest(self) -> str:
        return self.ref.rsplit("@", 1)[1]


def parse_image(pinned: Fields) -> PinnedImage:
    ref = pinned.get("ref", str)
    if not _DIGEST_REF.match(ref):
        raise pinned.error("field 'image.ref'", f"must be pinned by digest (name@sha256:<64 hex digits>), got {ref!r}")
    image = PinnedImage(ref=ref, has_python=pinned.get("python", bool))
    pinned.reject_unknown()
    return image


SECTION = Section("image", parse_image)


def pinned_image(target: Target) -> PinnedImage | None:
    """The target's `image` section (None: no published image is pinned for it)."""
    return target.section(SECTION.key)
