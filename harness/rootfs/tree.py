"""Checking a root filesystem tree: its shape digest, and paths inside it resolved as the target would."""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path, PurePosixPath

from ..cache import sha256_file
from ..errors import ConfigError

UNREADABLE = "not readable by this user"
CONTENTS = "contents.sha256"  # beside root/: the sha256 of every regular file, for `images verify --deep`


def resolve_in_root(root: Path, path: str, depth: int = 0) -> Path:
    """Follow symlinks inside a root filesystem the way the target's kernel would."""
    current = root
    parts = [p for p in PurePosixPath(path).parts if p != "/"]
    for index, part in enumerate(parts):
        candidate = current / part
        if candidate.is_symlink():
            if depth > 40:
                break
            link = os.readlink(candidate)
            rest = "/".join(parts[index + 1:])
            base = "/" if link.startswith("/") else "/" + str(current.relative_to(root))
            return resolve_in_root(root, str(PurePosixPath(base, link, rest)), depth + 1)
        current = candidate
    return current


def tree_digest(root: Path) -> tuple[str, int]:
    """A digest of the tree's shape (names, types, modes, sizes, link targets) and its file count.

    Cheap enough to check on every use (about 0.1 s); catches deleted, truncated
    and added files.  A file overwritten with other content of the same size needs
    ``images verify --deep`` (content_listing / changed_files).
    """
    digest = hashlib.sha256()
    count = 0
    stack = [(str(root), "")]
    while stack:
        directory, prefix = stack.pop()
        with os.scandir(directory) as entries:
            for entry in sorted(entries, key=lambda e: e.name):
                st = entry.stat(follow_symlinks=False)
                rel = prefix + entry.name
                is_link = stat.S_ISLNK(st.st_mode)
                link = os.readlink(entry.path) if is_link else ""
                size = st.st_size if stat.S_ISREG(st.st_mode) else 0
                digest.update(f"{rel}\0{st.st_mode:o}\0{size}\0{link}\n".encode("utf-8", "surrogateescape"))
                count += 1
                if stat.S_ISDIR(st.st_mode):
                    stack.append((entry.path, rel + "/"))
    return digest.hexdigest(), count




def verify_tree(path: Path, meta: dict) -> str:
    """The cache's check for a root filesystem entry: the tree still has the shape it was built with."""
    if not (path / "root").is_dir():
        return "root directory missing"
    try:
        digest, count = tree_digest(path / "root")
    except PermissionError as exc:
        raise ConfigError(f"the cached root filesystem {path} is {UNREADABLE}: {exc.filename} (another user built it)",
                          fix="use a cache of your own with --cache-dir (building works unprivileged too), "
                              "or run as the user who built it") from None
    if digest != meta.get("tree_digest"):
        return f"contents changed since it was built ({count} entries now, {meta.get('entries')} then)"
    return ""


def _regular_files(root: Path):
    for directory, _, files in os.walk(root):
        for name in sorted(files):
            path = Path(directory, name)
            if path.is_file() and not path.is_symlink():
                yield path


def write_content_listing(entry: Path) -> int:
    """Record every regular file's sha256 (sha256sum's format) beside the tree; returns the file count."""
    root = entry / "root"
    lines = [f"{sha256_file(path)}  {path.relative_to(root)}" for path in _regular_files(root)]
    (entry / CONTENTS).write_text("\n".join(sorted(lines, key=lambda line: line[66:])) + "\n")
    return len(lines)


def changed_files(entry: Path) -> list[str]:
    """Files whose content differs from what was recorded at build time (or that are gone)."""
    listing = entry / CONTENTS
    if not listing.is_file():
        return [f"({CONTENTS} is missing: the entry predates content listings; rebuild it)"]
    changed = []
    for line in listing.read_text().splitlines():
        digest, _, name = line.partition("  ")
        path = entry / "root" / name
        if not path.is_file() or sha256_file(path) != digest:
            changed.append(name)
    return changed
