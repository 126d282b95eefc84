"""The container tier: the same root filesystems (or digest-pinned images) under podman or docker."""

from __future__ import annotations

from ...errors import ConfigError
from ...host import engine as engines
from ...host.engine import ENGINES, require_known
from ..tier import Artefact, TierOption
from ..host_kernel import HostKernelTier
from . import images
from .checks import container_checks
from .runner import ContainerRunner
from .settings import IMAGE_SOURCES, ContainerSettings
from .spec import SECTION, pinned_image


class ContainerTier(HostKernelTier):
    name = "container"
    runner = ContainerRunner
    section = SECTION
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
    def artefacts(cls) -> list[Artefact]:
        """The images imported from root filesystems, in every engine that answers."""
        found = []
        for engine in (e for e in engines.survey().values() if isinstance(e, engines.Engine)):
            for ref, key in images.list_imported(engine):
                found.append(Artefact(f"{engine.name} image", ref, key,
                                      lambda engine=engine, ref=ref: engine.run("rmi", "--force", ref, check=False)))
        return found

    @classmethod
    def doctor_checks(cls, targets) -> list:
        return super().doctor_checks(targets) + container_checks()  # qemu-user's handlers run its foreign images

    @classmethod
    def uses_rootfs(cls, settings: ContainerSettings, target) -> bool:
        return not (settings.image_source == "pinned" and pinned_image(target) is not None)


__all__ = ["ContainerRunner", "ContainerSettings", "ContainerTier", "IMAGE_SOURCES"]
