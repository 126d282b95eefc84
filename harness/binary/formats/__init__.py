"""The formats a build can come in, each a module that is a `Format`.  A new format is one module here plus one
line in FORMATS (the first that sniffs it wins); how a kind installs where it differs from copying its
executables onto PATH is in install.py's INSTALLERS, and the platforms its label names in label.py's LABELS."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from ...errors import BinaryError
from . import npm, tar, wheel, zip
from .members import ELF_MAGIC, Members


class Format(Protocol):
    KIND: str  # what BinaryUnderTest.kind says: "wheel"
    DESCRIPTION: str  # for messages: "a wheel (*.whl)"

    def sniff(self, path: Path, head: bytes) -> bool:
        """Whether the file is of this format, by its first bytes and its name."""

    def members(self, path: Path, work: Path) -> Members:
        """Its executables, copied out into `work` (and what else the format records of them)."""


# A bare ELF file needs no unpacking: the caller takes it as it is.
FORMATS: tuple[Format, ...] = (wheel, npm, tar, zip)  # npm before tar: both are tarballs


def format_of(path: Path, head: bytes) -> Format | None:
    """The format of a file, by its first bytes and name; None for a bare executable (or a file of no format).

    The name is what users act on: a `.whl` pip installs only as a zip, and a `.zip` that starts with an ELF
    executable (a self-extracting one) is unpacked by users, so its zip is what is tested."""
    if path.name.endswith(".whl") and not head.startswith(b"PK"):
        raise BinaryError(f"{path} is named a wheel (.whl) but is not one: it starts with {head[:4]!r}, and a wheel "
                          "is a zip file", fix="pass the wheel as it was built (pip and uv would refuse this file)")
    if head.startswith(ELF_MAGIC):
        return zip if path.name.endswith(".zip") else None
    return next((module for module in FORMATS if module.sniff(path, head)), None)


def described() -> str:
    return ", ".join(["an ELF executable", *(module.DESCRIPTION for module in FORMATS)])


__all__ = ["ELF_MAGIC", "FORMATS", "Format", "Members", "described", "format_of"]
