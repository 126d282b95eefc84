"""The on-disk cache: one mechanism for every kind of entry.

Layout under the cache root (``$XDG_CACHE_HOME/archsmoke`` unless overridden)::

    <kind>/<key>/             a finished entry; entry.json inside it is written last
    <kind>/<key>.lock         flock(2) held by whoever is building or checking <key>
    <kind>/.tmp-<key>-*       work in progress; never mistaken for an entry

``Cache.ensure`` is the only way entries are made: under the key's lock, reuse
the entry if its kind's ``verify`` finds it sound, else retire it and build a
new one into a staging directory, write entry.json last and rename the
directory into place.  An interrupted build leaves only a ``.tmp-`` directory,
which the next build of that key (or ``images prune``) removes.  Kinds:
root filesystems, downloads, unpacked binaries, the smoke suite's demo packages.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

from .errors import ConfigError

ENV_CACHE_DIR = "ARCHSMOKE_CACHE_DIR"
ENTRY_FILE = "entry.json"

# verify(entry directory, its entry.json) -> "" when sound, else what is wrong.  It may raise a
# HarnessError when the entry cannot even be judged (another user's unreadable files).
Verify = Callable[[Path, dict], str]
# build(staging directory) -> what entry.json records besides key and kind.
Build = Callable[[Path], dict]


def default_cache_dir() -> Path:
    explicit = os.environ.get(ENV_CACHE_DIR)
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "archsmoke"


def _shown(path: Path) -> str:
    text = str(path)
    return text if len(text) <= 120 else f"{text[:60]}...{text[-30:]} ({len(text)} characters)"


def checked_root(given: Path | None) -> Path:
    """The cache directory, `~` expanded (a value from a YAML file or a quoted variable reaches archsmoke
    unexpanded), refused with the option or variable that named it when it cannot be one."""
    origin = "--cache-dir" if given else (ENV_CACHE_DIR if os.environ.get(ENV_CACHE_DIR) else "the cache directory")
    root = Path(os.path.expanduser(str(given or default_cache_dir())))
    fix = f"choose another with --cache-dir or {ENV_CACHE_DIR} (a directory; it is created if missing)"
    try:
        if root.exists() and not root.is_dir():
            raise ConfigError(f"{origin} {_shown(root)} is not a directory", fix=fix)
    except OSError as exc:  # too long, a file on the way, a loop
        raise ConfigError(f"{origin} {_shown(root)} cannot be a directory here: {exc.strerror}", fix=fix) from None
    return root


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


@dataclass(frozen=True)
class Entry:
    path: Path
    key: str
    meta: dict

    def __truediv__(self, name: str) -> Path:
        return self.path / name


def read_entry(path: Path, key: str, verify: Verify | None = None) -> tuple[Entry | None, str]:
    """(entry, "") for a sound entry directory, (None, why) for a damaged or missing one."""
    if not path.is_dir():
        return None, "not built"
    try:
        meta = json.loads((path / ENTRY_FILE).read_text())
    except (OSError, ValueError) as exc:
        return None, f"{ENTRY_FILE} unreadable ({exc.__class__.__name__})"
    if not isinstance(meta, dict):
        return None, f"{ENTRY_FILE} holds {type(meta).__name__}, not an object"
    if meta.get("key") != key:
        return None, f"{ENTRY_FILE} is for another key"
    try:
        why = verify(path, meta) if verify else ""
    except (KeyError, TypeError, AttributeError, ValueError) as exc:  # written by another version, or damaged
        why = f"{ENTRY_FILE} has an unexpected shape ({exc.__class__.__name__}: {exc})"
    return (None, why) if why else (Entry(path, key, meta), "")


class Cache:
    def __init__(self, root: Path | None = None):
        self.root = checked_root(Path(root) if root else None)

    def area(self, kind: str) -> Path:
        path = self.root / kind
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"cannot create cache directory {path}: {exc.strerror}",
                              fix=f"choose a writable one with --cache-dir or {ENV_CACHE_DIR}")
        return path

    def entry_path(self, kind: str, key: str) -> Path:
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

    def lookup(self, kind: str, key: str, verify: Verify | None = None) -> Entry | None:
        """The sound entry, or None (without building; a damaged one stays until ensure replaces it)."""
        path = self.root / kind / key
        return read_entry(path, key, verify)[0] if path.is_dir() else None

    def ensure(self, kind: str, key: str, build: Build, verify: Verify | None = None,
               on_damage: Callable[[str], None] | None = None) -> Entry:
        """The entry for key: reused if sound, else (re)built exactly once across processes."""
        path = self.root / kind / key
        # Entries appear and disappear only by rename, so a sound one can be used without the lock
        # (and so from a cache that is read-only); the lock serialises building.
        entry, _ = read_entry(path, key, verify)
        if entry is not None:
            return entry
        path = self.entry_path(kind, key)
        with self.lock(kind, key):
            entry, why = read_entry(path, key, verify)
            if entry is not None:
                return entry
            if path.exists():
                if on_damage:
                    on_damage(why)
                try:
                    retire(path)
                except PermissionError:
                    raise ConfigError(f"the cache entry {path} is damaged ({why}) and this user may not replace it",
                                      fix=f"use a cache of your own with --cache-dir or {ENV_CACHE_DIR}, "
                                          "or prune it as its owner") from None
            try:
                with self.staging(kind, key) as work:
                    meta = {"key": key, "kind": kind, "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                            **build(work)}
                    # Written last: a directory without it is never taken for a finished entry.
                    (work / ENTRY_FILE).write_text(json.dumps(meta, indent=2) + "\n")
            except OSError as exc:
                if exc.errno not in (errno.ENOSPC, errno.EDQUOT, errno.EROFS):
                    raise
                raise ConfigError(f"the cache at {self.root} cannot take the {kind} entry {key}: {exc.strerror}",
                                  fix=f"free space there, or choose another with --cache-dir or {ENV_CACHE_DIR}") \
                    from None
            return Entry(path, key, meta)

    @contextlib.contextmanager
    def staging(self, kind: str, key: str) -> Iterator[Path]:
        """A temporary directory that becomes entry ``key`` only if the block succeeds (call under the lock)."""
        area = self.area(kind)
        for stale in area.glob(f".tmp-{key}-*"):
            remove_tree(stale)
        try:
            work = Path(tempfile.mkdtemp(prefix=f".tmp-{key}-", dir=area))
        except OSError as exc:
            raise ConfigError(f"cannot write to the cache at {area}: {exc.strerror}",
                              fix=f"make it writable, or choose another with --cache-dir or {ENV_CACHE_DIR}") from None
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

    def entries(self, kind: str, verify: Verify | None = None) -> list[tuple[Path, Entry | None, str]]:
        """Every finished-looking entry of a kind, with whether it is sound."""
        area = self.root / kind
        return [(path, *read_entry(path, path.name, verify))
                for path in (sorted(area.iterdir()) if area.is_dir() else [])
                if path.is_dir() and not path.name.startswith(".")]


def files_verifier(listing_field: str = "files", ordered: bool = False) -> Verify:
    """For entries whose entry.json maps file names (relative paths) to their sha256."""

    def verify(path: Path, meta: dict) -> str:
        files = meta.get(listing_field) or {}
        if not files:
            return f"{ENTRY_FILE} lists no files"
        if not isinstance(files, dict) or not all(isinstance(v, str) for v in files.values()):
            return f"{ENTRY_FILE}'s {listing_field} is not a map of file names to hashes"
        order = meta.get("order", None if ordered else list(files))
        if not isinstance(order, list) or not set(order) <= set(files):
            return f"{ENTRY_FILE}'s order names files it does not list"
        for name, digest in files.items():
            file = path / name
            if not file.is_file():
                return f"{name} is missing"
            if sha256_file(file) != digest:
                return f"{name} changed since it was cached"
        return ""

    return verify


def hash_listing(directory: Path, names: list[str]) -> dict[str, str]:
    return {name: sha256_file(directory / name) for name in names}


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
