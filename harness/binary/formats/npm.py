"""npm packages as `npm pack` writes them (a gzip tarball of package/...): the executables are what the
package.json `bin` field names, or, for a per-platform package without one (@esbuild/linux-ppc64; the `bin` is
in its meta-package), every ELF file in it, the one named after the package first (its main executable).  A `bin`
that names nothing in the package is a defect of the package, recorded for the suite to fail on."""

from __future__ import annotations

import gzip
import json
import posixpath
import tarfile
import zlib
from pathlib import Path

from ...errors import BinaryError
from .members import SHARED_LIBRARY, Members, copy_executable, keep_elf_members, keep_libraries, member_name

KIND = "npm"
DESCRIPTION = "an npm package (npm pack's *.tgz)"
MANIFEST = "package/package.json"
_LOOK_AT = 64  # members read to sniff: npm pack puts package.json among the first
MAIN = "package/index.js"  # what require(package) loads where package.json names no `main`


def _is_library(member: str) -> bool:
    """An addon Node.js loads (`.node`), or a shared library shipped beside one."""
    return member.endswith(".node") or bool(SHARED_LIBRARY.search(member))


def sniff(path: Path, head: bytes) -> bool:
    if not head.startswith(b"\x1f\x8b"):
        return False
    try:
        with tarfile.open(path, "r:gz") as archive:
            for count, member in enumerate(archive):
                if member.name == MANIFEST:
                    return True
                if count >= _LOOK_AT:
                    return False
    except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile, OSError):
        return False  # the tar format reports what is wrong with it
    return False


def _bin_entries(manifest: dict) -> dict[str, str]:
    """{command name: path in the package} from package.json's `bin` (a string names the package's command)."""
    field = manifest.get("bin")
    own = str(manifest.get("name", "")).rsplit("/", 1)[-1]
    if isinstance(field, str):
        return {own: field}
    if isinstance(field, dict):
        return {str(k): str(v) for k, v in field.items() if isinstance(v, str)}
    return {}


def _platform(manifest: dict) -> dict[str, list[str]]:
    """package.json's `cpu` and `libc` (npm installs a package only where both match): its label."""
    fields = {key: manifest.get(key) for key in ("cpu", "libc")}
    return {key: [str(v) for v in value] for key, value in fields.items()
            if isinstance(value, list) and value and all(isinstance(v, str) for v in value)}


def _main_name(package: str | None, names: list[str]) -> str | None:
    """The executable a per-platform package is named after: `@scope/cli-linux-arm64` holding `cli` and
    `cli_language_server` -> `cli`."""
    words = str(package or "").rsplit("/", 1)[-1].split("-")
    prefixes = ["-".join(words[:end]) for end in range(len(words), 0, -1)]
    return next((prefix for prefix in prefixes if prefix in names), None)


def members(path: Path, work: Path) -> Members:
    try:
        with tarfile.open(path, "r:gz") as archive:
            files = {m.name: m for m in archive.getmembers() if m.isfile()}
            if MANIFEST not in files:
                raise BinaryError(f"{path} is not an npm package: it has no {MANIFEST}",
                                  fix="pass the tarball `npm pack` writes")
            try:
                manifest = json.loads(archive.extractfile(files[MANIFEST]).read())
            except (ValueError, UnicodeDecodeError) as exc:
                raise BinaryError(f"{path}'s {MANIFEST} is not JSON: {exc}", fix="pass the tarball `npm pack` writes") \
                    from None
            if not isinstance(manifest, dict):
                raise BinaryError(f"{path}'s {MANIFEST} is not a JSON object", fix="pass the tarball `npm pack` writes")
            found = Members(project=str(manifest.get("name") or "") or None, version=str(manifest.get("version") or "")
                            or None, platform=_platform(manifest))
            taken: dict[str, str] = {}
            for command, relative in _bin_entries(manifest).items():
                member = posixpath.normpath(posixpath.join("package", relative))
                if not member.startswith("package/") or member not in files:
                    where = "outside the package" if not member.startswith("package/") else "a file the package lacks"
                    found.defects.append(f"package.json's `bin` names {relative!r} for `{command}`: {where}, so npm "
                                         "installs no such command")
                    continue
                name = member_name(path, command, taken)
                if copy_executable(archive.extractfile(files[member]), work, name) is None:
                    del taken[name]  # a JavaScript launcher: the platform package has the executable
                else:
                    found.add(name, member)
            opener = lambda member: archive.extractfile(files[member])  # noqa: E731
            keep_libraries(work, [m for m in files if _is_library(m)], opener, found)
            if found.libraries and (isinstance(manifest.get("main"), str) or MAIN in files):
                found.modules = [str(manifest.get("name") or "")]  # its entry point: require(name)
            if not found.names:  # a per-platform package: its ELF files, the one named for the package first
                programs = [m for m in files if not _is_library(m)]
                elf = keep_elf_members(path, work, programs, opener)
                found.names = sorted(elf.names, key=lambda name: name != _main_name(found.project, elf.names))
                found.inside = elf.inside
    except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise BinaryError(f"{path} is not a readable npm package: {exc}", fix="download the package again") from None
    if not found.names and not found.libraries:
        raise BinaryError(f"{path} is an npm package without native code (no ELF executable, no .node addon)",
                          fix="pass the package built for the target's platform (for example @esbuild/linux-ppc64)")
    return found
