"""Wheels: executables as scripts (`NAME-V.data/scripts/uv`, uv's and ruff's way), or as package data behind
a Python launcher (`clang_format/data/bin/clang-format`, many C and C++ tools' way), and native code Python
loads (extension modules, the shared libraries bundled beside them), each checked against the wheel's RECORD."""

from __future__ import annotations

import stat
import zipfile
from pathlib import Path, PurePosixPath

from ...errors import BinaryError
from .members import SHARED_LIBRARY, Members, copy_executable, keep_libraries, member_name

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


def _is_library(name: str) -> bool:
    return bool(SHARED_LIBRARY.search(name)) and not name.endswith("/") and ".dist-info/" not in name


def _packaged(name: str) -> bool:
    """In the wheel's importable tree (not its metadata, scripts or headers, not auditwheel's NAME.libs)."""
    top = name.split("/", 1)[0]
    return not (top.endswith(".dist-info") or top.endswith(".data") or top.endswith(".libs"))


def _import_names(names: list[str], libraries: list[str]) -> list[str]:
    """What a user imports: each top-level package or module, then each extension module by its dotted name."""
    tops = []
    for name in names:
        if not _packaged(name) or name.endswith("/"):
            continue
        parts = name.split("/")
        top = parts[0] if len(parts) > 1 else parts[0].split(".", 1)[0]
        if top.isidentifier() and (len(parts) > 1 or name.endswith(".py") or _is_library(name)):
            tops.append(top)
    extensions = []
    for name in libraries:
        *package, file = name.split("/")
        module = file.split(".", 1)[0]
        if _packaged(name) and all(p.isidentifier() for p in package) and module.isidentifier():
            extensions.append(".".join([*package, module]))
    return list(dict.fromkeys([*sorted(set(tops)), *sorted(extensions)]))


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
        _check_hash(path, member, actual, hashes)
        members.add(name, member)
    return members


def _check_hash(path: Path, member: str, actual: str, hashes: dict[str, str]) -> None:
    expected = hashes.get(member)
    if not expected:
        raise BinaryError(f"{path} is corrupt: {member} is not listed with a hash in its RECORD",
                          fix="download or build the wheel again")
    if expected != actual:
        raise BinaryError(f"{path} is corrupt: {member} does not match the hash in its RECORD",
                          fix="download or build the wheel again")


def members(path: Path, work: Path) -> Members:
    try:
        with zipfile.ZipFile(path) as wheel:
            hashes = _record_hashes(wheel, path)
            found = _kept(wheel, path, work, [n for n in wheel.namelist() if _is_script(n)], hashes)
            if not found.names:  # no executable script: the tool may ship as package data
                data = [i.filename for i in wheel.infolist() if _may_be_package_data_executable(i)]
                found = _kept(wheel, path, work, data, hashes)
                found.package_data = True
            keep_libraries(work, [n for n in wheel.namelist() if _is_library(n)], wheel.open, found,
                           check=lambda member, digest: _check_hash(path, member, digest, hashes))
            found.modules = _import_names(wheel.namelist(), [n for n in found.libraries.values() if _packaged(n)])
    except RuntimeError as exc:  # zipfile's word for an encrypted member
        raise BinaryError(f"{path} cannot be read as a wheel: {exc}",
                          fix="publish it without a password, as users' tools unpack it") from None
    except (zipfile.BadZipFile, EOFError, zipfile.LargeZipFile) as exc:
        raise BinaryError(f"{path} is not a valid wheel: {exc}", fix="download or build the wheel again") from None
    if not found.names and not found.libraries:
        raise BinaryError(f"{path} is a wheel without native code (no ELF executable under *.data/scripts/ or in "
                          f"its package data, and no extension module or shared library): a pure-Python wheel "
                          f"runs the same on every arch",
                          fix="pass a wheel that ships compiled code: an executable like uv's, or extension modules")
    return found
