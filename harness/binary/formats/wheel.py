"""Wheels: executables as scripts (`NAME-V.data/scripts/uv`, uv's and ruff's way), or as package data behind
a Python launcher (`clang_format/data/bin/clang-format`, many C and C++ tools' way), each checked against
the wheel's RECORD."""

from __future__ import annotations

import stat
import zipfile
from pathlib import Path, PurePosixPath

from ...errors import BinaryError
from .members import Members, copy_executable, member_name

KIND = "wheel"  # what BinaryUnderTest.kind says
DESCRIPTION = "a wheel (*.whl)"


def sniff(path: Path, head: bytes) -> bool:
    return head.startswith(b"PK") and path.name.endswith(".whl")


def name_and_version(path: Path) -> tuple[str | None, str | None]:
    parts = path.name.split("-")
    return (parts[0], parts[1]) if len(parts) >= 5 else (None, None)


def _record_hashes(wheel: zipfile.ZipFile, path: Path) -> dict[str, str]:
    name = next((n for n in wheel.namelist() if n.endswith(".dist-info/RECORD")), None)
    if name is None:
        raise BinaryError(f"{path} is corrupt: it has no .dist-info/RECORD", fix="download or build the wheel again")
    lines = wheel.read(name).decode(errors="replace").splitlines()
    return dict(line.rsplit(",", 2)[:2] for line in lines if line.count(",") >= 2)


def _is_script(name: str) -> bool:
    return PurePosixPath(name).parent.name == "scripts" and ".data/" in name and not name.endswith("/")


def _may_be_package_data_executable(info: zipfile.ZipInfo) -> bool:
    """An executable file kept as package data: executable mode, or in a bin/ directory; not a library."""
    if info.is_dir() or ".dist-info/" in info.filename or _is_script(info.filename):
        return False
    mode = info.external_attr >> 16
    name = PurePosixPath(info.filename)
    return (bool(mode & 0o111) and not stat.S_ISDIR(mode) or name.parent.name == "bin") and ".so" not in name.name


def _kept(wheel: zipfile.ZipFile, path: Path, work: Path, candidates: list[str], hashes: dict[str, str]) -> Members:
    found: dict[str, str] = {}
    members = Members()
    for member in candidates:
        name = member_name(path, member, found)
        with wheel.open(member) as source:
            actual = copy_executable(source, work, name)
        if actual is None:
            del found[name]
            continue
        expected = hashes.get(member)
        if not expected:
            raise BinaryError(f"{path} is corrupt: {member} is not listed with a hash in its RECORD",
                              fix="download or build the wheel again")
        if expected != actual:
            raise BinaryError(f"{path} is corrupt: {member} does not match the hash in its RECORD",
                              fix="download or build the wheel again")
        members.add(name, member)
    return members


def members(path: Path, work: Path) -> Members:
    try:
        with zipfile.ZipFile(path) as wheel:
            hashes = _record_hashes(wheel, path)
            found = _kept(wheel, path, work, [n for n in wheel.namelist() if _is_script(n)], hashes)
            if not found.names:  # no executable script: the tool may ship as package data
                data = [i.filename for i in wheel.infolist() if _may_be_package_data_executable(i)]
                found = _kept(wheel, path, work, data, hashes)
                found.package_data = True
    except RuntimeError as exc:  # zipfile's word for an encrypted member
        raise BinaryError(f"{path} cannot be read as a wheel: {exc}",
                          fix="publish it without a password, as users' tools unpack it") from None
    except (zipfile.BadZipFile, EOFError, zipfile.LargeZipFile) as exc:
        raise BinaryError(f"{path} is not a valid wheel: {exc}", fix="download or build the wheel again") from None
    if not found.names:
        raise BinaryError(f"{path} is a wheel without executables (no ELF file under *.data/scripts/, nor an "
                          f"executable ELF file in its package data)",
                          fix="pass a wheel that ships a compiled executable, like uv's, ruff's or clang-format's")
    return found
