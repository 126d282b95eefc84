"""Release archives as tarballs: .tar.gz / .tgz (goreleaser's default), .tar.xz (cargo-dist's), .tar.bz2, or
plain .tar; every ELF file in them is an executable of the build."""

from __future__ import annotations

import gzip
import lzma
import posixpath
import tarfile
import zlib
from pathlib import Path

from ...errors import BinaryError
from .members import Members, add_aliases, keep_elf_members, link_target

KIND = "archive"  # what BinaryUnderTest.kind says
DESCRIPTION = "a release archive (*.tar.gz, *.tgz, *.tar.xz, *.tar.bz2, *.tar)"
COMPRESSED = (b"\x1f\x8b", b"\xfd7zXZ", b"BZh")
NAMES = (".tar.gz", ".tgz", ".tar.xz", ".txz", ".tar.bz2", ".tbz2", ".tar")


def sniff(path: Path, head: bytes) -> bool:
    return head.startswith(COMPRESSED) or path.name.endswith(NAMES)


def members(path: Path, work: Path) -> Members:
    try:
        with tarfile.open(path, "r:*") as archive:
            files = {m.name: m for m in archive if m.isfile()}
            found = keep_elf_members(path, work, list(files), lambda name: archive.extractfile(files[name]))
            links = {posixpath.normpath(m.name): link_target(path, m.name, m.linkname, m.islnk())
                     for m in archive if m.islnk() or m.issym()}
            add_aliases(path, work, found, links)
    except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile, lzma.LZMAError, OSError, ValueError) as exc:
        raise BinaryError(f"{path} is not a readable tar archive: {exc}", fix="download the archive again") from None
    if not found.names:
        raise BinaryError(f"{path} is an archive without an ELF executable in it",
                          fix="pass a release archive that ships the executable (name-<triple>.tar.gz)")
    return found
