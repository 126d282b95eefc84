"""The container tier: the same root filesystems (or digest-pinned images) under podman or docker."""

from __future__ import annotations

from ...errors import ConfigError
from ...host.engine import ENGINES, require_known
from ..base import Tier, TierOption
from .runner import ContainerRunner
from .settings import IMAGE_SOURCES, ContainerSettings


class ContainerTier(Tier):
    name = "container"
    runner = ContainerRunner
    options = (
        TierOption("--engine", "engine", metavar="NAME",
                   help=f"container tier: {' or '.join(ENGINES)} (default: podman if it answers, else docker)"),
        TierOption("--image-source", "image_source", default="rootfs", metavar="SOURCE",
                   help="container tier: 'rootfs' imports archsmoke's own root filesystems as images (no registry "
                        "needed); 'pinned' pulls each target's digest-pinned image from vms/ (default: rootfs)"),
    )

    @classmethod
    def settings(cls, values) -> ContainerSettings:
        settings = ContainerSettings(**{k: v for k, v in values.items() if v is not None})
        if settings.engine is not None:
            require_known(settings.engine)
        if settings.image_source not in IMAGE_SOURCES:
            raise ConfigError(f"unknown image source {settings.image_source!r}",
                              fix=f"--image-source {' or '.join(IMAGE_SOURCES)}")
        return settings

    @classmethod
    def describe(cls, settings: ContainerSettings) -> str:
        return f"container (engine {settings.engine or 'podman, else docker'}; images: {settings.image_source})"

    @classmethod
    def uses_rootfs(cls, settings: ContainerSettings, target) -> bool:
        return not (settings.image_source == "pinned" and target.image is not None)


__all__ = ["ContainerRunner", "ContainerSettings", "ContainerTier", "IMAGE_SOURCES"]
