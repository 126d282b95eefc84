"""The formats a build can come in, each a module with `sniff(path, head)`, `members(path, work)`, `KIND`
and `DESCRIPTION`.  A new format is one module here plus one line in FORMATS (the first that sniffs it wins)."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

from . import npm, tar, wheel, zip
from .members import ELF_MAGIC, Members

# A bare ELF file needs no unpacking: the caller takes it as it is.
FORMATS: tuple[ModuleType, ...] = (wheel, npm, tar, zip)  # npm before tar: both are tarballs


def format_of(path: Path, head: bytes) -> ModuleType | None:
    """The format of a file that is not a bare executable, by its first bytes (and name)."""
    return next((module for module in FORMATS if module.sniff(path, head)), None)


def described() -> str:
    return ", ".join(["an ELF executable", *(module.DESCRIPTION for module in FORMATS)])


__all__ = ["ELF_MAGIC", "FORMATS", "Members", "described", "format_of"]
