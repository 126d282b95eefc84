"""The binary under test as given: a bare executable, a wheel, or a release archive, unpacked on the host.

Wheels and archives are unpacked once into the cache (keyed by the file's
sha256); every ELF executable in them is kept under its own name, so any
product's executables (uv and uvx, ruff, ...) come out the same way.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import tarfile
import zipfile
from zlib import error as zlib_error
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ..cache import Cache, files_verifier, hash_listing, sha256_file
from ..errors import BinaryError
from .elf import ElfInfo, read_elf
from .product import Product

KIND = "binaries"
_ELF = b"\x7fELF"


@dataclass(frozen=True)
class BinaryUnderTest:
    """One build for one architecture, unpacked and inspected, ready to install."""

    kind: str  # "executable", "wheel" or "archive"
    origin: str  # what the user gave, for reports
    file: Path  # the file as given or downloaded
    sha256: str  # of that file
    executables: tuple[Path, ...]  # on the host, each under its own name
    elf: ElfInfo  # of the first executable (all of one build share machine and libc)
    version: str | None  # known from a wheel's name or a download; None for a bare executable
    project: str | None = None  # a wheel's distribution name

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.executables)

    def provides(self, product: Product) -> bool:
        return product.main in self.names

    def main_for(self, product: Product) -> Path:
        """The product's main executable in this build (a bare executable is it, whatever its file name)."""
        if self.kind == "executable":
            return self.executables[0]
        found = next((p for p in self.executables if p.name == product.main), None)
        if found is None:
            raise BinaryError(f"{self.origin} holds {', '.join(self.names) or 'no executables'}, not {product.main}",
                              fix=f"pass a {product.name} build")
        return found

    def extras_for(self, product: Product) -> tuple[Path, ...]:
        """The product's other executables shipped beside the main one (uvx beside uv)."""
        return tuple(p for p in self.executables if p.name in product.executables[1:])


def _magic(path: Path) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read(4)
    except OSError as exc:
        raise BinaryError(f"cannot read {path}: {exc.strerror}", fix="check the path given to --binary") from None


def _record_hashes(wheel: zipfile.ZipFile, path: Path) -> dict[str, str]:
    name = next((n for n in wheel.namelist() if n.endswith(".dist-info/RECORD")), None)
    if name is None:
        raise BinaryError(f"{path} is corrupt: it has no .dist-info/RECORD", fix="download or build the wheel again")
    lines = wheel.read(name).decode(errors="replace").splitlines()
    return dict(line.rsplit(",", 2)[:2] for line in lines if line.count(",") >= 2)


_CHUNK = 1 << 20


def _member_name(path: Path, member: str, taken: dict[str, str]) -> str:
    """The file name an executable member is kept under: refused if it names no file or repeats another's."""
    name = PurePosixPath(member).name
    if name in ("", ".", "..") or "\\" in name:
        raise BinaryError(f"{path} has a member named {member!r}, which is not a file name",
                          fix="rebuild the archive with plain file names")
    if name in taken:
        raise BinaryError(f"{path} has two executables named {name}: {taken[name]} and {member}",
                          fix="ship each executable once, or pass the builds as separate files")
    taken[name] = member
    return name


def _copy_executable(source, work: Path, name: str) -> str | None:
    """Stream a member into work/name while hashing it (members can be larger than memory); None if not ELF."""
    digest = hashlib.sha256()
    first = source.read(len(_ELF))
    if first != _ELF:
        return None
    target = work / name
    with open(target, "wb") as out:
        digest.update(first)
        out.write(first)
        while chunk := source.read(_CHUNK):
            digest.update(chunk)
            out.write(chunk)
    target.chmod(0o755)
    return "sha256=" + base64.urlsafe_b64encode(digest.digest()).rstrip(b"=").decode()


def _wheel_members(path: Path, work: Path) -> list[str]:
    """The ELF scripts of the wheel, copied into work, each checked against the wheel's RECORD."""
    found: dict[str, str] = {}
    try:
        with zipfile.ZipFile(path) as wheel:
            scripts = [n for n in wheel.namelist()
                       if PurePosixPath(n).parent.name == "scripts" and ".data/" in n and not n.endswith("/")]
            hashes = _record_hashes(wheel, path)
            for member in scripts:
                name = _member_name(path, member, found)
                with wheel.open(member) as source:
                    actual = _copy_executable(source, work, name)
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
    except (zipfile.BadZipFile, EOFError, zipfile.LargeZipFile) as exc:
        raise BinaryError(f"{path} is not a valid wheel: {exc}", fix="download or build the wheel again") from None
    if not found:
        raise BinaryError(f"{path} is a wheel without executables (no ELF file under *.data/scripts/)",
                          fix="pass a wheel that ships a compiled executable, like uv's or ruff's")
    return list(found)


def _archive_members(path: Path, work: Path) -> list[str]:
    found: dict[str, str] = {}
    try:
        with tarfile.open(path) as archive:
            for member in archive:
                if not member.isfile():
                    continue
                name = _member_name(path, member.name, found)
                if _copy_executable(archive.extractfile(member), work, name) is None:
                    del found[name]
    except (tarfile.TarError, EOFError, zlib_error, gzip.BadGzipFile) as exc:
        raise BinaryError(f"{path} is not a readable .tar.gz archive: {exc}", fix="download the archive again") from None
    if not found:
        raise BinaryError(f"{path} is an archive without an ELF executable in it",
                          fix="pass a release archive that ships the executable (name-<triple>.tar.gz)")
    return list(found)


def _unpacked(path: Path, sha: str, cache: Cache, members) -> tuple[Path, ...]:
    def build(work: Path) -> dict:
        names = members(path, work)
        return {"source": path.name, "order": names, "files": hash_listing(work, names)}

    entry = cache.ensure(KIND, sha, build=build, verify=files_verifier(ordered=True))
    return tuple(entry.path / name for name in entry.meta["order"])


def _wheel_name(path: Path) -> tuple[str | None, str | None]:
    """(distribution, version) from a wheel's file name."""
    parts = path.name.split("-")
    return (parts[0], parts[1]) if path.name.endswith(".whl") and len(parts) >= 5 else (None, None)


def prepare(path: Path, cache: Cache, origin: str | None = None, version: str | None = None) -> BinaryUnderTest:
    """Unpack and inspect a local file given as --binary (or downloaded)."""
    path = Path(path)
    if not path.is_file():
        raise BinaryError(f"{path} does not exist or is not a file", fix="check the path given to --binary")
    magic = _magic(path)  # before hashing: a file that is none of these is refused at once, whatever its size
    if not (magic == _ELF or magic.startswith((b"PK", b"\x1f\x8b")) or path.name.endswith((".tar.gz", ".tgz"))):
        raise BinaryError(
            f"{path} is neither an ELF executable, a wheel nor a .tar.gz archive (it starts with {magic!r})",
            fix="pass the executable itself, a wheel (*.whl) or a release archive (*.tar.gz)",
        )
    sha = sha256_file(path)
    project, named_version = None, None
    if magic == _ELF:
        kind, executables = "executable", (path,)
    elif magic.startswith(b"PK"):
        kind, executables = "wheel", _unpacked(path, sha, cache, _wheel_members)
        project, named_version = _wheel_name(path)
    else:
        kind, executables = "archive", _unpacked(path, sha, cache, _archive_members)
    return BinaryUnderTest(kind=kind, origin=origin or str(path), file=path, sha256=sha, executables=executables,
                           elf=read_elf(executables[0]), version=version or named_version, project=project)
