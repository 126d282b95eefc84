"""npm packages as `npm pack` writes them (a gzip tarball of package/...): the executables are what the
package.json `bin` field names, or, for a per-platform package without one (@esbuild/linux-ppc64), its one
ELF file, whatever its name."""

from __future__ import annotations

import gzip
import json
import posixpath
import tarfile
import zlib
from pathlib import Path

from ...errors import BinaryError
from .members import Members, copy_executable, keep_elf_members, member_name

KIND = "npm"
DESCRIPTION = "an npm package (npm pack's *.tgz)"
MANIFEST = "package/package.json"
_LOOK_AT = 64  # members read to sniff: npm pack puts package.json among the first


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
                            or None)
            taken: dict[str, str] = {}
            for command, relative in _bin_entries(manifest).items():
                member = posixpath.normpath(posixpath.join("package", relative))
                if member in files:
                    name = member_name(path, command, taken)
                    if copy_executable(archive.extractfile(files[member]), work, name) is None:
                        del taken[name]  # a JavaScript launcher: the platform package has the executable
                    else:
                        found.add(name, member)
            if not found.names:  # a per-platform package: its one ELF file
                elf = keep_elf_members(path, work, list(files), lambda member: archive.extractfile(files[member]))
                found.names, found.inside = elf.names, elf.inside
                if len(found.names) > 1:
                    raise BinaryError(f"{path} holds several ELF files ({', '.join(found.inside.values())}) and its "
                                      f"package.json names none of them in `bin`",
                                      fix="pass a package whose `bin` names its executables")
    except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise BinaryError(f"{path} is not a readable npm package: {exc}", fix="download the package again") from None
    if not found.names:
        raise BinaryError(f"{path} is an npm package without an ELF executable in it",
                          fix="pass the package built for the target's platform (for example @esbuild/linux-ppc64)")
    return found
