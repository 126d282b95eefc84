"""Wheels tagged for each platform, for the session's index: which one uv picks is the test.

Each wheel records the tag it was built for (``TAG``), so after ``uv pip install`` a test reads which
wheel landed. Most carry no compiled code; ``archsmoke-native`` carries a real extension module for each
arch, cross-compiled here with clang (see native/ext.c), whose import proves the ABI tag uv chose loads.
"""

from __future__ import annotations

import base64
import hashlib
import shutil
import subprocess
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from archsmoke.arches import ARCHES
from archsmoke.cache import Cache
from archsmoke.errors import ImageBuildError
from archsmoke.progress import Progress, Sink
from demo_packages import cached_files

FORMAT = 1  # bump when write_wheel changes what a wheel holds
WHEEL_ARCHES = tuple(sorted({arch.uname for arch in ARCHES.values()}))  # PEP 600 tags name arches as uname -m
# manylinux_2_<level> wheels published for every arch; a target takes the highest level its glibc reaches.
# 99 is one no target can take.
GLIBC_LEVELS = (17, 28, 31, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 99)
# The oldest manylinux level of an arch: PEP 600 tags for riscv64 start at 2_31 (the target YAML's
# wheel_platforms), and uv accepts no older one there (measured: 0.13.9 refuses manylinux_2_17_riscv64).
MANYLINUX_FLOOR = {"riscv64": 31}


def manylinux_floor(wheel_arch: str) -> int:
    return MANYLINUX_FLOOR.get(wheel_arch, 17)


def glibc_levels(wheel_arch: str) -> tuple[int, ...]:
    return tuple(level for level in GLIBC_LEVELS if level >= manylinux_floor(wheel_arch))
PYTHON_MINORS = tuple(range(8, 16))  # cp38 ... cp315
NATIVE_SOURCE = Path(__file__).parent / "native" / "ext.c"
# clang's target for each wheel arch.  LLVM 14's lld cannot link s390x: there clang finds the GNU
# cross linker (s390x-linux-gnu-ld) by its target prefix.
CLANG_TARGETS = {"x86_64": "x86_64-linux-gnu", "i686": "i686-linux-gnu", "aarch64": "aarch64-linux-gnu",
                 "armv7l": "armv7a-linux-gnueabihf", "ppc64le": "powerpc64le-linux-gnu",
                 "s390x": "s390x-linux-gnu", "riscv64": "riscv64-linux-gnu"}
GNU_LD = {"s390x": "s390x-linux-gnu-ld"}
HOST_PACKAGES = "clang lld binutils-s390x-linux-gnu"


@dataclass(frozen=True)
class TaggedWheel:
    project: str
    version: str
    tag: str  # python-abi-platform

    @property
    def module(self) -> str:
        return self.project.replace("-", "_")

    @property
    def filename(self) -> str:
        return f"{self.module}-{self.version}-{self.tag}.whl"


ONLY_MUSL = "archsmoke-only-musl"  # musllinux wheels alone, one per arch


def only_project(wheel_arch: str) -> str:
    """A project whose one wheel is for this arch alone."""
    return f"archsmoke-only-{wheel_arch.replace('_', '-')}"


def tagged_wheels() -> list[TaggedWheel]:
    wheels = [TaggedWheel("archsmoke-plat", "1.0", "py3-none-any"),
              TaggedWheel("archsmoke-fallback", "1.0", "py3-none-any"),
              TaggedWheel("archsmoke-fallback", "2.0", "py3-none-manylinux_2_17_sparc64"),
              TaggedWheel("archsmoke-picky", "1.0", "py3-none-any"),
              TaggedWheel("archsmoke-picky", "2.0", "py3-none-manylinux_2_17_aarch64")]
    for arch in WHEEL_ARCHES:
        floor = f"manylinux_2_{manylinux_floor(arch)}_{arch}"
        wheels += [TaggedWheel("archsmoke-plat", "2.0", f"py3-none-manylinux_2_{level}_{arch}")
                   for level in glibc_levels(arch)]
        wheels.append(TaggedWheel("archsmoke-plat", "2.0", f"py3-none-musllinux_1_2_{arch}"))
        musl = f"musllinux_1_2_{arch}"
        for platform in (floor, musl):
            wheels += [TaggedWheel("archsmoke-abi", "1.0", f"cp3{minor}-cp3{minor}-{platform}")
                       for minor in PYTHON_MINORS]
            wheels.append(TaggedWheel("archsmoke-abi", "1.0", f"py3-none-{platform}"))
        wheels.append(TaggedWheel(ONLY_MUSL, "1.0", f"py3-none-{musl}"))
        wheels.append(TaggedWheel("archsmoke-fallback", "2.0", f"py3-none-manylinux_2_99_{arch}"))
        wheels.append(TaggedWheel(only_project(arch), "1.0", f"py3-none-{floor}"))
    return wheels


def native_platform(arch: str, libc: str) -> str:
    return f"musllinux_1_2_{arch}" if libc == "musl" else f"manylinux_2_{manylinux_floor(arch)}_{arch}"


def native_wheel(arch: str, libc: str = "glibc") -> TaggedWheel:
    """The extension links no C library (see native/ext.c), so one build is true to both tags."""
    return TaggedWheel("archsmoke-native", "1.0", f"cp38-abi3-{native_platform(arch, libc)}")


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def write_wheel(wheel: TaggedWheel, out: Path, extra: dict[str, bytes] | None = None) -> Path:
    """A valid wheel whose package records its own tag and version."""
    info = f"{wheel.module}-{wheel.version}.dist-info"
    pure = wheel.tag.endswith("-any")
    files = {
        f"{wheel.module}/__init__.py": f'TAG = "{wheel.tag}"\nVERSION = "{wheel.version}"\n'.encode(),
        **(extra or {}),
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {wheel.project}\nVersion: {wheel.version}\n".encode(),
        f"{info}/WHEEL": (f"Wheel-Version: 1.0\nGenerator: archsmoke\nRoot-Is-Purelib: {str(pure).lower()}\n"
                          f"Tag: {wheel.tag}\n").encode(),
    }
    record = [_record_line(name, data) for name, data in files.items()] + [f"{info}/RECORD,,"]
    path = out / wheel.filename
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0)), data)
        archive.writestr(zipfile.ZipInfo(f"{info}/RECORD", date_time=(2024, 1, 1, 0, 0, 0)), "\n".join(record) + "\n")
    return path


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise ImageBuildError(f"{name} is not installed: it cross-compiles the extension-module wheels",
                              fix=f"run ./bootstrap, or apt-get install {HOST_PACKAGES}")
    return path


def compile_extension(arch: str, out: Path) -> bytes:
    """The extension module for one arch: no libc, no Python headers (see native/ext.c)."""
    _tool(GNU_LD.get(arch, "ld.lld"))
    linker = [] if arch in GNU_LD else ["-fuse-ld=lld"]
    command = [_tool("clang"), f"--target={CLANG_TARGETS[arch]}", "-O2", "-fPIC", "-shared", "-nostdlib", *linker,
               f'-DBUILT_FOR="{arch}"', "-o", str(out), str(NATIVE_SOURCE)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        raise ImageBuildError(f"compiling the {arch} extension module failed: {result.stderr.strip()[-600:]}",
                              fix=f"apt-get install {HOST_PACKAGES}")
    return out.read_bytes()


def _clang_version() -> str:
    return subprocess.run([_tool("clang"), "--version"], capture_output=True, text=True).stdout.splitlines()[0]


def build_platform_wheels(cache: Cache) -> Path:
    """The tag-recording wheels, built once per recipe."""
    wheels = tagged_wheels()

    def write(files: Path) -> None:
        for wheel in wheels:
            write_wheel(wheel, files)

    return cached_files(cache, {"format": FORMAT, "wheels": [w.filename for w in wheels]}, write)


def build_native_wheels(cache: Cache, sink: Sink | None = None) -> Path:
    """archsmoke-native for every arch, cross-compiled once per source and compiler."""
    progress = Progress("native wheels", sink)
    compiler = _clang_version()

    def write(files: Path) -> None:
        with tempfile.TemporaryDirectory() as work:
            for arch in WHEEL_ARCHES:
                library = compile_extension(arch, Path(work) / f"{arch}.so")
                for libc in ("glibc", "musl"):
                    wheel = native_wheel(arch, libc)
                    write_wheel(wheel, files, {f"{wheel.module}/_native.abi3.so": library})
        progress.say(f"cross-compiled archsmoke-native for {len(WHEEL_ARCHES)} arches with {compiler}")

    recipe = {"format": FORMAT, "source": NATIVE_SOURCE.read_text(),
              "header": NATIVE_SOURCE.with_name("stable_abi.h").read_text(), "compiler": compiler,
              "wheels": [native_wheel(arch, libc).filename for arch in WHEEL_ARCHES for libc in ("glibc", "musl")]}
    return cached_files(cache, recipe, write)
