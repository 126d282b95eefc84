"""What a build says it is for, and where its executables contradict that.

A wheel's platform tags, an npm package's name (`@esbuild/linux-ppc64`, `...-linux-arm64-musl`), a release
file's name (a Rust triple, Go's words): each is a label users and installers trust.  A label the ELF files
contradict is a defect of the release (a failed test on that target), not a mistake of whoever tests it.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass
from pathlib import PurePosixPath

from ..arches import ARCHES, Arch, named_in
from ..targets import Target
from .index import wheel_platforms
from .unpack import BinaryUnderTest

# PEP 600 / 656 tags, and the legacy names PEP 600 maps onto manylinux_2_x.
_MANYLINUX = re.compile(r"^manylinux_(\d+)_(\d+)_(\w+)$")
_LEGACY = re.compile(r"^(manylinux1|manylinux2010|manylinux2014)_(\w+)$")
_LEGACY_GLIBC = {"manylinux1": (2, 5), "manylinux2010": (2, 12), "manylinux2014": (2, 17)}
_MUSLLINUX = re.compile(r"^musllinux_(\d+)_(\d+)_(\w+)$")
# The libraries a manylinux wheel may take from the system (auditwheel's policy, every level's lib_whitelist:
# libatomic since auditwheel 6.4, libexpat from manylinux2010, libcrypt in the oldest); everything else ships inside.
MANYLINUX_LIBRARIES = frozenset((
    "libatomic.so.1", "libgcc_s.so.1", "libstdc++.so.6", "libm.so.6", "libanl.so.1", "libdl.so.2", "librt.so.1",
    "libc.so.6", "libnsl.so.1", "libutil.so.1", "libpthread.so.0", "libX11.so.6", "libXext.so.6", "libXrender.so.1",
    "libICE.so.6", "libSM.so.6", "libGL.so.1", "libgobject-2.0.so.0", "libgthread-2.0.so.0", "libglib-2.0.so.0",
    "libresolv.so.2", "libexpat.so.1", "libz.so.1", "libcrypt.so.1"))
_LOADER = re.compile(r"^(ld-linux.*|ld64)\.so\.\d+$")


@dataclass(frozen=True)
class Claim:
    """One platform a label names."""

    arch: Arch
    libc: str | None  # glibc, musl, or None where the label does not say
    says: str  # where the claim is written, for messages: "wheel tag manylinux_2_17_aarch64"
    glibc: tuple[int, int] | None = None  # the newest glibc a manylinux tag allows the build to need

    def covers(self, target: Target, linked: str) -> bool:
        """Whether it names the target's platform; a label silent on the C library names the one the build is
        linked against (both, for a static build)."""
        libc = self.libc or (linked if linked != "static" else target.libc)
        return self.arch.debian == target.debian_arch and libc == target.libc


def manylinux_glibc(tag: str) -> tuple[tuple[int, int], str] | None:
    """(the glibc a manylinux tag names, its arch word): PEP 600's and the legacy names; None for another tag."""
    if match := _MANYLINUX.match(tag):
        return (int(match[1]), int(match[2])), match[3]
    if match := _LEGACY.match(tag):
        return _LEGACY_GLIBC[match[1]], match[2]
    return None


def _arch_by_uname(word: str) -> Arch | None:
    return next((a for a in ARCHES.values() if a.uname == word), None)


def _wheel_claims(filename: str) -> list[Claim]:
    claims = []
    for tag in sorted(wheel_platforms(filename)):
        if manylinux := manylinux_glibc(tag):
            libc, (glibc, word) = "glibc", manylinux
        elif match := _MUSLLINUX.match(tag):
            libc, glibc, word = "musl", None, match[3]
        elif tag.startswith("linux_"):
            libc, glibc, word = None, None, tag.removeprefix("linux_")
        else:
            continue
        arch = _arch_by_uname(word)
        if arch is not None:
            claims.append(Claim(arch, libc, f"wheel tag {tag}", glibc))
    return claims


def _named_claims(name: str, says: str) -> list[Claim]:
    named = named_in(name)
    if named is None:
        return []
    words = set(re.split(r"[^a-z0-9]+", name.lower()))
    libc = "musl" if words & {"musl", "musleabihf", "musleabi"} else "glibc" if words & {"gnu", "gnueabihf"} else None
    return [Claim(named[1], libc, f"{says} ({named[0]})")]


def _npm_claims(build: BinaryUnderTest) -> list[Claim]:
    """package.json's `cpu` (Node's words: arm64, ppc64, x64) and `libc`, else the package's name."""
    fields = dict(build.platform)
    arches = [a for word in fields.get("cpu", ()) for a in ARCHES.values() if a.npm == word]
    if not arches:
        return _named_claims(build.project or "", f"npm package {build.project}")
    libcs = [libc for libc in fields.get("libc", ()) if libc in ("glibc", "musl")] or [None]
    return [Claim(arch, libc, f"package.json of {build.project} (cpu {arch.npm}{f', libc {libc}' if libc else ''})")
            for arch in arches for libc in libcs]


# What a format's label is, by kind: its tags, its manifest; any other build is labelled by its file name.
LABELS = {"wheel": lambda build: _wheel_claims(build.file.name), "npm": lambda build: _npm_claims(build)}


def claims_of(build: BinaryUnderTest) -> list[Claim]:
    """Every platform the build's label names; [] for a build that carries no label."""
    label = LABELS.get(build.kind)
    return label(build) if label else _named_claims(build.file.name, f"file name {build.file.name}")


def covers(build: BinaryUnderTest, target: Target) -> bool:
    return any(claim.covers(target, build.elf.libc) for claim in claims_of(build))


def _shipped_libraries(build: BinaryUnderTest) -> set[str]:
    """The file names a wheel ships (auditwheel's repaired wheels carry their libraries inside)."""
    try:
        with zipfile.ZipFile(build.file) as wheel:
            return {PurePosixPath(name).name for name in wheel.namelist()}
    except (OSError, zipfile.BadZipFile):
        return set()


def _what(build: BinaryUnderTest) -> str:
    return f"native library {build.libraries[0][1]} is a" if build.is_library else "executables are"


def contradictions(build: BinaryUnderTest, target: Target) -> list[str]:
    """Where the build's executables contradict what its label says of this target's platform."""
    claims = claims_of(build)
    if not claims:
        return []
    elf = build.elf
    mine = [claim for claim in claims if claim.covers(target, build.elf.libc)]
    if not mine:
        named = ", ".join(claim.says for claim in claims)
        return [f"its label says it is for another platform ({named}), but its executables are {elf.describe()}, "
                f"which is the {target.name} target's"]
    claim = mine[0]
    found = []
    wanted = target.elf
    if (elf.machine_number, elf.bits, elf.endian) != (wanted.machine_number, wanted.bits, wanted.endian):
        found.append(f"{claim.says} says {target.name}, but its {_what(build)} {elf.describe()}")
    for index, ((_, inside), other) in enumerate(zip(build.libraries, build.library_elfs)):
        if build.is_library and index == 0:
            continue  # it is `elf`, checked above
        if (other.machine_number, other.bits, other.endian) != (wanted.machine_number, wanted.bits, wanted.endian):
            found.append(f"{claim.says} says {target.name}, but {inside} is a {other.describe()}")
    if claim.libc is not None and elf.libc not in ("static", claim.libc):
        found.append(f"{claim.says} says {claim.libc}, but its executables are linked against {elf.libc} "
                     f"({elf.loader_words})")
    if claim.glibc is not None and elf.libc == "glibc" and elf.glibc_needed and elf.glibc_needed > claim.glibc:
        found.append(f"{claim.says} promises glibc {claim.glibc[0]}.{claim.glibc[1]}, but its executables need "
                     "GLIBC_{}.{}: they fail to start on the older systems the tag admits".format(*elf.glibc_needed))
    if claim.glibc is not None and elf.libc == "glibc":
        shipped = _shipped_libraries(build)
        outside = sorted(name for name in elf.needed if name not in MANYLINUX_LIBRARIES and not _LOADER.match(name)
                         and name not in shipped)
        if outside:
            found.append(f"{claim.says}: its executables need {', '.join(outside)}, which the manylinux policy does "
                         "not allow a wheel to take from the system (nor does the wheel ship them)")
    return found
