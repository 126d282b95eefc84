"""A VM's root disk: the cached root filesystem as an ext4 image, made natively and cached beside it.

Its key is derived from the root filesystem's, so a rebuilt root gets a new
disk.  VMs never write to it: QEMU runs with -snapshot, which puts every write
in a throwaway overlay in the session directory.
"""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from ...cache import Cache, content_key
from ...errors import ImageBuildError
from ...host.tools import host_tool
from ...progress import Progress, Sink
from ...rootfs import RootFilesystem

KIND = "vm-disk"
FORMAT = 1
IMAGE = "root.ext4"
# Room for what the suites write (virtual environments, caches, installed packages); the file is sparse.
FREE_BYTES = 3 * 1024**3


@dataclass(frozen=True)
class RootDisk:
    key: str
    path: Path

    @property
    def image(self) -> Path:
        return self.path / IMAGE


def cache_key(rootfs: RootFilesystem) -> str:
    return f"{rootfs.key}-{content_key({'format': FORMAT, 'rootfs': rootfs.key, 'free': FREE_BYTES})[:12]}"


def ensure(rootfs: RootFilesystem, cache: Cache, sink: Sink | None = None) -> RootDisk:
    key = cache_key(rootfs)
    progress = Progress(f"disk {rootfs.target.name}", sink)
    entry = cache.ensure(KIND, key, build=lambda work: _build(rootfs, work, progress), verify=_verify,
                         on_damage=lambda why: progress.say(f"cache entry {key} is damaged ({why}); rebuilding"))
    return RootDisk(key, entry.path)


def _verify(path: Path, meta: dict) -> str:
    # Hashing a multi-GiB sparse image on every start would cost more than the boot: size and mtime instead.
    image = path / IMAGE
    if not image.is_file():
        return f"{IMAGE} is missing"
    if image.stat().st_size != meta.get("size") or int(image.stat().st_mtime) != meta.get("mtime"):
        return f"{IMAGE} changed since it was made"
    return ""


def _build(rootfs: RootFilesystem, work: Path, progress: Progress) -> dict:
    mke2fs = host_tool("mke2fs", "e2fsprogs")
    used = sum(p.lstat().st_size for p in rootfs.root.rglob("*"))
    size_mib = (used * 2 + FREE_BYTES) // 1024**2
    progress.say(f"making a {size_mib} MiB ext4 disk from {rootfs.key}")
    started = time.monotonic()
    image = work / IMAGE
    result = subprocess.run([mke2fs, "-q", "-F", "-t", "ext4", "-L", "archsmoke-root", "-d", str(rootfs.root),
                             str(image), f"{size_mib}M"], capture_output=True, text=True)
    if result.returncode != 0:
        raise ImageBuildError(f"mke2fs could not make the {rootfs.target.name} root disk: {result.stderr.strip()}",
                              fix="check the free space of the cache's file system")
    image.chmod(0o444)
    progress.say(f"disk ready in {time.monotonic() - started:.1f} s")
    return {"target": rootfs.target.name, "rootfs": rootfs.key, "size": image.stat().st_size,
            "mtime": int(image.stat().st_mtime)}
