"""Where a command's output goes: memory for what reports and tests read, a file for a flood.

The build under test decides how much it prints.  Each stream is kept whole in memory up to MEMORY_LIMIT; past it,
the stream goes to a file in the target's work area on the host (at most FILE_LIMIT bytes of it, then counted) and
memory keeps only its last MEMORY_LIMIT bytes (what a failure report shows), behind a line saying where the rest
is.  The files go with the work area when the target stops.
"""

from __future__ import annotations

import os
import stat
from itertools import count
from pathlib import Path

MEMORY_LIMIT = 4 << 20
FILE_LIMIT = 64 << 20


def not_kept(number: int) -> bytes:
    """What a file cut at FILE_LIMIT ends with."""
    return f"\n[archsmoke: {number} more bytes of this output were not kept]\n".encode() if number else b""


def _spilled_note(total: int, path: Path | None) -> bytes:
    where = f"in {path}" if path is not None else "not kept"
    return (f"[archsmoke: this output was {total} bytes; all but its last {MEMORY_LIMIT} are {where} "
            f"(the first {min(total, FILE_LIMIT)} of them)]\n").encode()


class StreamCapture:
    """One stream of a running command, fed chunk by chunk."""

    def __init__(self, spill: Path | None):
        self.spill = spill  # the file it goes to once it outgrows memory (None: only the tail is kept)
        self.total = 0
        self._memory = bytearray()
        self._file = None
        self._written = 0

    def write(self, chunk: bytes) -> None:
        self.total += len(chunk)
        if self._file is None and self.total <= MEMORY_LIMIT:
            self._memory += chunk
            return
        if self._file is None and self.spill is not None:
            self.spill.parent.mkdir(parents=True, exist_ok=True)
            self._file = open(self.spill, "wb")
            self._store(bytes(self._memory))
        if self._file is not None:
            self._store(chunk)
        self._memory += chunk
        if len(self._memory) > 2 * MEMORY_LIMIT:  # trimmed in batches: each trim copies the tail once
            del self._memory[:-MEMORY_LIMIT]

    def _store(self, data: bytes) -> None:
        room = max(0, FILE_LIMIT - self._written)
        if room:
            self._file.write(data[:room])
            self._written += min(room, len(data))

    def finish(self) -> tuple[bytes, Path | None]:
        """What memory keeps, and the file holding the rest (None when all of it is in memory)."""
        if self.total <= MEMORY_LIMIT:
            return bytes(self._memory), None
        path = None
        if self._file is not None:
            self._file.write(not_kept(self.total - self._written))
            self._file.close()
            self._file = None
            path = self.spill
        return _spilled_note(self.total, path) + bytes(self._memory[-MEMORY_LIMIT:]), path


def from_file(written: Path, spill: Path | None) -> tuple[bytes, Path | None]:
    """A stream another process wrote to a file (a VM's share): small, read whole; large, its tail read, the file
    itself cut at FILE_LIMIT and moved to `spill` (None: left to its owner).  A link or anything but a regular
    file is refused; the file is read and cut through the one descriptor that checked it."""
    fd = os.open(written, os.O_RDWR | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    with os.fdopen(fd, "r+b") as stream:
        status = os.fstat(fd)
        if not stat.S_ISREG(status.st_mode):
            raise OSError(f"{written} is not a regular file")
        size = status.st_size
        if size <= MEMORY_LIMIT:
            return stream.read(MEMORY_LIMIT), None
        stream.seek(size - MEMORY_LIMIT)
        tail = stream.read(MEMORY_LIMIT)
        if spill is None:
            return _spilled_note(size, None) + tail, None
        if size > FILE_LIMIT:
            stream.truncate(FILE_LIMIT)
            stream.seek(FILE_LIMIT)
            stream.write(not_kept(size - FILE_LIMIT))
    spill.parent.mkdir(parents=True, exist_ok=True)
    os.replace(written, spill)
    return _spilled_note(size, spill) + tail, spill


class OutputArea:
    """A started target's directory for its commands' large outputs (in its session directory on the host)."""

    def __init__(self, directory: Path):
        self.directory = directory
        self._numbers = count(1)

    def next(self) -> tuple[Path, Path]:
        """The files the next command's stdout and stderr would go to (made only if they are needed)."""
        number = next(self._numbers)
        return self.directory / f"{number}.stdout", self.directory / f"{number}.stderr"
