"""Release archives as .zip files (not wheels): every ELF file in them is an executable of the build."""

from __future__ import annotations

import posixpath
import stat
import zipfile
from pathlib import Path

from ...errors import BinaryError
from .members import Members, add_aliases, keep_elf_members, link_target

KIND = "archive"  # what BinaryUnderTest.kind says
DESCRIPTION = "a .zip release archive"


def sniff(path: Path, head: bytes) -> bool:
    return head.startswith(b"PK") and not path.name.endswith(".whl")


def members(path: Path, work: Path) -> Members:
    try:
        with zipfile.ZipFile(path) as archive:
            symlinks = [i for i in archive.infolist() if stat.S_ISLNK(i.external_attr >> 16)]
            files = [i.filename for i in archive.infolist() if not i.is_dir() and i not in symlinks]
            found = keep_elf_members(path, work, files, archive.open)
            links = {posixpath.normpath(i.filename): link_target(path, i.filename, archive.read(i).decode(
                errors="replace"), hard=False) for i in symlinks}
            add_aliases(path, work, found, links)
    except RuntimeError as exc:  # zipfile's word for an encrypted member
        raise BinaryError(f"{path} cannot be read as a .zip archive: {exc}",
                          fix="publish it without a password, as users' tools unpack it") from None
    except (zipfile.BadZipFile, EOFError, zipfile.LargeZipFile) as exc:
        raise BinaryError(f"{path} is not a readable .zip archive: {exc}", fix="download the archive again") from None
    if not found.names:
        raise BinaryError(f"{path} is a .zip archive without an ELF executable in it",
                          fix="pass a release archive that ships the executable")
    return found
