"""The container tier's settings (its command-line options, validated)."""

from __future__ import annotations

from dataclasses import dataclass

IMAGE_SOURCES = ("rootfs", "pinned")


@dataclass(frozen=True)
class ContainerSettings:
    engine: str | None = None  # podman or docker; None: podman if it answers, else docker
    image_source: str = "rootfs"  # rootfs (imported root filesystems) or pinned (each target's image.ref)
