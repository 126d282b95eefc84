"""Root filesystem cache entries as tar files, for CI caches (``images export`` / ``images import``)."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from ..cache import Cache, read_entry
from ..errors import ConfigError, ImageBuildError
from ..targets import Target
from .build import KIND, cache_key
from .tree import verify_tree


def export_entry(cache: Cache, target: Target, archive: Path) -> None:
    """The target's sound cache entry as a tar file that keeps owners and modes."""
    key = cache_key(target)
    path = cache.entry_path(KIND, key)
    entry, why = read_entry(path, key, verify_tree)
    if entry is None:
        raise ConfigError(f"no sound root filesystem for {target.name} to export ({why})",
                          fix=f"python -m archsmoke images build {target.name}")
    partial = archive.with_name(f".tmp-{archive.name}")
    _tar("-C", str(path.parent), "-cf", str(partial), key)
    os.replace(partial, archive)


def import_entry(cache: Cache, archive: Path) -> Path:
    """Unpack an exported entry into the cache; it is published only if it checks out against its entry.json."""
    if not archive.is_file():
        raise ConfigError(f"{archive} does not exist", fix="pass a file written by `images export`")
    listing = subprocess.run(["tar", "-tf", str(archive)], capture_output=True, text=True)
    names = {line.split("/", 1)[0] for line in listing.stdout.splitlines() if line.strip()}
    if listing.returncode != 0 or len(names) != 1:
        raise ConfigError(f"{archive} is not an archive written by `images export`")
    key = names.pop()
    if not re.fullmatch(r"[a-z0-9_-]+-[0-9a-f]{24}", key):
        raise ConfigError(f"{archive} holds {key!r}, which is not a root filesystem cache key")
    with cache.lock(KIND, key), cache.staging(KIND, key) as staging:
        _tar("-C", str(staging), "-xpf", str(archive))
        unpacked = staging / key
        entry, why = read_entry(unpacked, key, verify_tree)
        if entry is None:
            raise ImageBuildError(f"{archive} holds a damaged root filesystem ({why})", fix="export it again")
        for item in unpacked.iterdir():
            os.rename(item, staging / item.name)
        unpacked.rmdir()
    return cache.entry_path(KIND, key)


def _tar(*args: str) -> None:
    result = subprocess.run(["tar", "--numeric-owner", *args], capture_output=True, text=True)
    if result.returncode != 0:
        raise ImageBuildError(f"tar {' '.join(args)} failed: {result.stderr.strip()[-500:]}")
