"""What every format shares: the executables found in it, copied out under their own names."""

from __future__ import annotations

import base64
import hashlib
import posixpath
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from ...errors import BinaryError

ELF_MAGIC = b"\x7fELF"
SHARED_LIBRARY = re.compile(r"\.so(\.\d+)*$")  # _speedups.cpython-311-x86_64-linux-gnu.so, libfoo-1a2b3c.so.1.2
CHUNK = 1 << 20


@dataclass
class Members:
    """The executables a format found, in order, with where each one is inside the file (for package data)."""

    names: list[str] = field(default_factory=list)
    inside: dict[str, str] = field(default_factory=dict)  # name -> member path inside the file
    package_data: bool = False  # a wheel's executables kept as package data, behind launchers pip makes
    project: str | None = None  # what the file says it is (an npm package's name and version)
    version: str | None = None
    defects: list[str] = field(default_factory=list)  # what is wrong with the file as published
    platform: dict[str, list[str]] = field(default_factory=dict)  # what its manifest says it runs on (npm's cpu, libc)
    # Native code a runtime loads (a wheel's extension modules and bundled shared libraries, an npm package's
    # .node addons): kept name -> member path inside the file; and what the runtime loads them as (import names).
    libraries: dict[str, str] = field(default_factory=dict)
    modules: list[str] = field(default_factory=list)

    def add(self, name: str, member: str) -> None:
        self.names.append(name)
        self.inside[name] = member


def member_name(path: Path, member: str, taken: dict[str, str]) -> str:
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


def copy_executable(source, work: Path, name: str) -> str | None:
    """Stream a member into work/name while hashing it (members can be larger than memory); None if not ELF."""
    digest = hashlib.sha256()
    first = source.read(len(ELF_MAGIC))
    if first != ELF_MAGIC:
        return None
    target = work / name
    with open(target, "wb") as out:
        digest.update(first)
        out.write(first)
        while chunk := source.read(CHUNK):
            digest.update(chunk)
            out.write(chunk)
    target.chmod(0o755)
    return "sha256=" + base64.urlsafe_b64encode(digest.digest()).rstrip(b"=").decode()


def keep_libraries(work: Path, candidates, opener, members: Members, check=None) -> None:
    """Every candidate that is an ELF file, copied out as a native library (named by its place in the file, as
    two packages may each ship a `_speedups.so`); `check(member, sha)` may refuse one whose hash is wrong."""
    for member in candidates:
        name = "native-" + member.replace("/", "%")
        with opener(member) as source:
            digest = copy_executable(source, work, name)
        if digest is None:
            continue
        if check is not None:
            check(member, digest)
        (work / name).chmod(0o644)
        members.libraries[name] = member


def keep_elf_members(path: Path, work: Path, candidates, opener) -> Members:
    """Every candidate member that is an ELF file, copied out; `opener(member)` gives its bytes."""
    found: dict[str, str] = {}
    members = Members()
    for member in candidates:
        name = member_name(path, member, found)
        with opener(member) as source:
            if copy_executable(source, work, name) is None:
                del found[name]
                continue
        members.add(name, member)
    return members


def link_target(path: Path, member: str, linkname: str, hard: bool) -> str:
    """The archive member a link names (a hard link's name is the archive's; a symlink's is relative to its own
    directory), refused where it leaves the archive, as unpacking it would."""
    target = linkname if hard else posixpath.join(posixpath.dirname(member), linkname)
    resolved = posixpath.normpath(target)
    if linkname.startswith("/") or resolved == ".." or resolved.startswith("../"):
        raise BinaryError(f"{path} has a link {member} -> {linkname}, which leaves the archive",
                          fix="ship links that stay inside the archive (or the files themselves)")
    return resolved


def add_aliases(path: Path, work: Path, members: Members, links: dict[str, str]) -> None:
    """Links to a kept executable (busybox-style aliases, hard or symbolic) are executables of the build too:
    users unpack them as such.  `links` maps each link member to the member it names."""
    taken = dict(members.inside)
    by_member = {posixpath.normpath(inside): name for name, inside in members.inside.items()}
    for link in links:
        seen, target = {link}, links[link]
        while target in links and target not in seen:  # a link to a link
            seen.add(target)
            target = links[target]
        name = by_member.get(target)
        if name is None or PurePosixPath(link).name == name:
            continue  # a link to something that is no executable, or the executable again under its own name
        alias = member_name(path, link, taken)
        shutil.copyfile(work / name, work / alias)
        (work / alias).chmod(0o755)
        members.add(alias, link)
