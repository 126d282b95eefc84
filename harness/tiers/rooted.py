"""Files of a target's tree opened from the host as the target's own kernel would find them.

The build under test runs as root in its target and can leave symlinks anywhere
there: ``/tmp/out -> /etc/shadow`` or ``/usr/local/bin -> ../../../..``.  The
host copying a file in or out through such a path would follow the link on the
host's side of the tree and read or write a host file.  Here every component is
opened relative to the one before with O_NOFOLLOW, and a symlink met on the way
is resolved by hand inside the root (absolute links start again at the root,
``..`` stops there), so no path leaves it.  Components are opened one at a time
from descriptors, so a link swapped in while this walks is met as a link too.
"""

from __future__ import annotations

import errno
import os
import stat
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import Iterator

MAX_LINKS = 40  # as the kernel's own limit (ELOOP)
_DIR_FLAGS = os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC


def _components(path: str) -> list[str]:
    return [part for part in PurePosixPath(path).parts if part not in ("/", ".")]


def _walk(root_fd: int, path: str, make_parents: bool, follow_last: bool) -> tuple[list[int], str]:
    """The chain of directory descriptors from the root to the parent of the path's last component, and that
    name (a symlink as the last component is followed when `follow_last`).  The caller closes the chain."""
    chain = [os.dup(root_fd)]
    pending = _components(path)
    links = 0
    try:
        while pending:
            name = pending.pop(0)
            if name == "..":
                if len(chain) > 1:
                    os.close(chain.pop())
                continue
            last = not pending
            try:
                fd = os.open(name, _DIR_FLAGS, dir_fd=chain[-1])
            except FileNotFoundError:
                if last:
                    return chain, name
                if not make_parents:
                    raise
                os.mkdir(name, 0o755, dir_fd=chain[-1])
                fd = os.open(name, _DIR_FLAGS, dir_fd=chain[-1])
            mode = os.fstat(fd).st_mode
            if stat.S_ISLNK(mode) and (follow_last or not last):
                links += 1
                if links > MAX_LINKS:
                    os.close(fd)
                    raise OSError(errno.ELOOP, "too many levels of symbolic links", path)
                target = os.readlink(name, dir_fd=chain[-1])
                os.close(fd)
                if target.startswith("/"):
                    for extra in chain[1:]:
                        os.close(extra)
                    del chain[1:]
                pending = _components(target) + pending
                continue
            if last:
                os.close(fd)
                return chain, name
            if not stat.S_ISDIR(mode):
                os.close(fd)
                raise NotADirectoryError(errno.ENOTDIR, "not a directory", path)
            chain.append(fd)
        return chain, "."
    except BaseException:
        for fd in chain:
            os.close(fd)
        raise


@contextmanager
def opened_in_root(root: Path, path: str, flags: int, mode: int = 0o644, make_parents: bool = False) -> Iterator[int]:
    """A descriptor of `path` inside `root`, resolved as the target would resolve it (see the module's doc)."""
    root_fd = os.open(root, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        chain, name = _walk(root_fd, path, make_parents, follow_last=True)
    finally:
        os.close(root_fd)
    try:
        fd = os.open(name, flags | os.O_NOFOLLOW | os.O_CLOEXEC, mode, dir_fd=chain[-1])
    finally:
        for directory in chain:
            os.close(directory)
    try:
        yield fd
    finally:
        os.close(fd)


def copy_into(root: Path, source: Path, destination: str, mode: int) -> None:
    """Copy a host file to `destination` inside `root` (parents made), with `mode`."""
    with opened_in_root(root, destination, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600, make_parents=True) as fd:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "not a regular file", destination)
        with open(source, "rb") as data:
            while chunk := data.read(1 << 20):
                view = memoryview(chunk)
                while view:
                    view = view[os.write(fd, view):]
        os.fchmod(fd, mode)


def copy_out(root: Path, source: str, destination: Path) -> None:
    """Copy the regular file at `source` inside `root` to a host path."""
    with opened_in_root(root, source, os.O_RDONLY | os.O_NONBLOCK) as fd:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "not a regular file (a device, FIFO or directory is not copied out)", source)
        with open(destination, "wb") as out:
            while chunk := os.read(fd, 1 << 20):
                out.write(chunk)
