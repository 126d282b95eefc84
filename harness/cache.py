"""The on-disk cache: content-addressed entries, published atomically, built once under a lock.

Layout under the cache root (``$XDG_CACHE_HOME/archsmoke`` unless overridden)::

    <kind>/<key>/          a finished entry; it exists only once complete
    <kind>/<key>.lock      flock(2) held by whoever is building <key>
    <kind>/.tmp-<key>-*    work in progress; never mistaken for an entry

A build writes into a temporary sibling and renames it into place, so an
interrupted build leaves only a ``.tmp-`` directory, which the next build of
that key (or ``images prune``) removes.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Iterator

from .errors import ConfigError

ENV_CACHE_DIR = "ARCHSMOKE_CACHE_DIR"


def default_cache_dir() -> Path:
    explicit = os.environ.get(ENV_CACHE_DIR)
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "archsmoke"


def content_key(recipe: dict[str, Any]) -> str:
    """A stable hash of everything that defines an entry."""
    canonical = json.dumps(recipe, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:24]


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class Cache:
    def __init__(self, root: Path | None = None):
        self.root = Path(root) if root else default_cache_dir()

    def area(self, kind: str) -> Path:
        path = self.root / kind
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(
                f"cannot create cache directory {path}: {exc.strerror}",
                fix=f"choose a writable one with --cache-dir or {ENV_CACHE_DIR}",
            )
        return path

    def entry(self, kind: str, key: str) -> Path:
        return self.area(kind) / key

    @contextlib.contextmanager
    def lock(self, kind: str, key: str) -> Iterator[None]:
        """Exclusive across processes (pytest-xdist workers, parallel CI jobs on one host)."""
        path = self.area(kind) / f"{key}.lock"
        try:
            # Read-only is enough for flock, so a cache built by root can be shared read-only.
            descriptor = os.open(path, os.O_RDONLY | os.O_CREAT, 0o644)
        except OSError as exc:
            raise ConfigError(f"cannot open lock file {path}: {exc.strerror}",
                              fix=f"make the cache writable, or choose another with --cache-dir or {ENV_CACHE_DIR}")
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX)
            yield
        finally:
            os.close(descriptor)  # releases the lock

    @contextlib.contextmanager
    def staging(self, kind: str, key: str) -> Iterator[Path]:
        """A temporary directory that becomes entry ``key`` only if the block succeeds."""
        area = self.area(kind)
        for stale in area.glob(f".tmp-{key}-*"):
            remove_tree(stale)
        work = Path(tempfile.mkdtemp(prefix=f".tmp-{key}-", dir=area))
        try:
            yield work
            work.chmod(0o755)  # mkdtemp made it private
            final = area / key
            if final.exists():
                retire(final)
            os.rename(work, final)
        finally:
            if work.exists():
                remove_tree(work)

    def stale_work(self) -> list[Path]:
        if not self.root.is_dir():
            return []
        return sorted(self.root.glob("*/.tmp-*"))


def retire(path: Path) -> None:
    """Move an entry out of sight at once (rename), then delete it."""
    doomed = path.with_name(f".tmp-retired-{path.name}-{os.getpid()}")
    os.rename(path, doomed)
    remove_tree(doomed)


def remove_tree(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
