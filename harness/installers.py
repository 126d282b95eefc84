"""How each kind of build is installed where it is not by copying its executables onto PATH, as its users install
it: a wheel by the target's own pip into a venv, an npm package of addons into node_modules.  A new kind is one
function here and one line in INSTALLERS."""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from . import wheel_dependencies
from .binary.elf import glibc_provided
from .binary.index import wheel_platforms
from .binary.label import manylinux_glibc
from .binary.product import Product
from .binary.unpack import BinaryUnderTest
from .errors import BinaryError, NoBinaryForTarget
from .rootfs import resolve_in_root
from .tiers.base import Runner

INSTALL_PREFIX = "/opt/archsmoke"

def wheel_glibc_floor(filename: str) -> tuple[tuple[int, int], str] | None:
    """The oldest glibc a wheel's manylinux tags accept, and that tag (pip installs it where any tag fits)."""
    floors = [(found[0], tag) for tag in wheel_platforms(filename) if (found := manylinux_glibc(tag))]
    # Of two names for one level (manylinux_2_17 and manylinux2014), the PEP 600 one.
    return min(floors, key=lambda floor: (floor[0], not floor[1].startswith("manylinux_"))) if floors else None


@dataclass(frozen=True)
class Placed:
    """Where an installer put a build in the target."""

    bin_dir: str  # the directory put first on PATH
    real: dict[str, str] = field(default_factory=dict)  # name -> its ELF file, where PATH has a launcher for it
    python: str | None = None  # the interpreter of the venv it went into
    node: str | None = None  # the Node.js that loads its addons
    package_dir: str | None = None  # an npm package's directory under node_modules
    libraries: dict[str, str] = field(default_factory=dict)  # native library: path inside the build -> in the target


def copy_onto_path(binary: BinaryUnderTest, product: Product, runner: Runner, index_url: str | None = None) -> Placed:
    """Executables (a bare one, an archive's, an npm package's) onto PATH under the product's names."""
    bin_dir = runner.own_path("/usr/local/bin")
    runner.put(binary.main_for(product), f"{bin_dir}/{product.main}", mode=0o755)
    for extra in binary.extras_for(product):
        runner.put(extra, f"{bin_dir}/{extra.name}", mode=0o755)
    return Placed(bin_dir)


def _dependencies(binary: BinaryUnderTest, runner: Runner, index_url: str | None) -> list[str]:
    """pip's options for the wheel's dependencies: resolved on this host for the target and put there as a
    directory of wheels (`--find-links`); `--no-deps` for a wheel that declares none."""
    if not wheel_dependencies.requirements(binary.file):
        return ["--no-deps"]
    target = runner.target
    said = runner.run(["python3", "-c", "import sys; print(*sys.version_info[:2])"]).check().stdout.split()
    glibc = root_glibc(runner)
    platforms = wheel_dependencies.pip_platforms(target.wheel_platforms, glibc[0] if glibc else None)
    found = runner.own_path("/tmp/archsmoke-install/dependencies")
    with tempfile.TemporaryDirectory(prefix="archsmoke-deps-") as scratch:
        wheels = wheel_dependencies.download(binary, target.name, platforms, (int(said[0]), int(said[1])),
                                             Path(scratch), index_url)
        runner.run(["mkdir", "-p", found]).check()
        for wheel in wheels:
            runner.put(wheel, f"{found}/{wheel.name}", mode=0o644)
    return ["--find-links", found]


def root_glibc(runner: Runner) -> tuple[tuple[int, int], str] | None:
    """The newest GLIBC_x.y the target root's libc.so.6 defines, and where it is.

    Read from the cached tree when the target runs one (as file_exists does): copying it out of a
    container costs a `podman cp` (0.11 s measured) on every install."""
    target = runner.target
    for path in (f"/lib/{target.multiarch}/libc.so.6", f"/usr/lib/{target.multiarch}/libc.so.6",
                 "/lib64/libc.so.6", "/lib/libc.so.6"):
        if not runner.file_exists(path):
            continue
        if runner.rootfs is not None:
            provided = glibc_provided(resolve_in_root(runner.rootfs.root, path))
        else:
            with tempfile.TemporaryDirectory() as scratch:
                copy = Path(scratch) / "libc.so.6"
                runner.get(path, copy)
                provided = glibc_provided(copy)
        if provided:
            return provided, path
    return None


# `python3 -m venv ARGS`, then where the system's pip keeps the script `pip --python` re-runs itself with under
# another interpreter (pip 22.3 and later): one emulated pip start-up instead of two (measured: 1.7 s under qemu-user
# on ppc64le, twice that in its VM).  Nothing printed: `python3 -m pip --python` itself.
_VENV_AND_PIP = """import os, sys, venv
venv.main(sys.argv[1:])
try:
    import pip
except ImportError:
    sys.exit(0)
runner = os.path.join(os.path.dirname(pip.__file__), "__pip-runner__.py")
print(runner if os.path.isfile(runner) else "")
"""


def _pip_into_venv(binary: BinaryUnderTest, product: Product, runner: Runner, index_url: str | None = None) -> Placed:
    """A wheel, by the target's own pip into a venv; executables kept as package data are run where pip put them,
    through the launcher the wheel declares; extension modules are loaded by the venv's interpreter (its own
    copy where it runs at the CPU floor: the mark goes on the file, so not on the system's python3)."""
    budget = runner.target.timeouts.install
    venv = runner.own_path(f"{INSTALL_PREFIX}/{product.name}/venv")
    staged = runner.own_path(f"/tmp/archsmoke-install/{binary.file.name}")
    runner.put(binary.file, staged, mode=0o644)
    copies = ["--copies"] if binary.libraries and runner.marks_binary_under_test else []
    made = runner.run(["python3", "-c", _VENV_AND_PIP, "--without-pip", *copies, venv], timeout=budget).check()
    pip_runner = made.stdout.strip()
    # What `pip --python VENV/bin/python` runs after its own start-up: the system's pip, in the venv's interpreter.
    pip = [f"{venv}/bin/python", pip_runner] if pip_runner else ["python3", "-m", "pip", "--python", f"{venv}/bin/python"]
    runner.run([*pip, "install", "--no-index", *_dependencies(binary, runner, index_url),
                "--disable-pip-version-check", "--no-warn-script-location", staged], timeout=budget).check()
    bin_dir, real, libraries = f"{venv}/bin", {}, {}
    site = _site_packages(runner, bin_dir) if binary.package_data or binary.libraries else ""
    if binary.package_data:
        _require_launcher(binary, product, runner, bin_dir)
        names = binary.names_for(product)
        real = {name: f"{site}/{inside}" for name, inside in binary.package_data if name in names}
    for _, inside in binary.libraries:
        libraries[inside] = f"{site}/{_DATA_DIRS.sub('', inside)}"
    return Placed(bin_dir, real, python=f"{bin_dir}/python", libraries=libraries)


# A wheel's NAME-V.data/platlib/ and purelib/ land in site-packages itself.
_DATA_DIRS = re.compile(r"^[^/]+\.data/(?:platlib|purelib)/")


NODE = "/usr/bin/node"  # Debian's nodejs, in the roots of a run that tests addons (targets.with_runtime)


def _npm_into_node_modules(binary: BinaryUnderTest, product: Product, runner: Runner,
                           index_url: str | None = None) -> Placed:
    """An npm package holding addons, unpacked where `npm install` puts it (PREFIX/node_modules/NAME), loaded by
    the target's Node.js (its own copy where it runs at the CPU floor, as for Python)."""
    target = runner.target
    if not runner.file_exists(NODE):
        raise NoBinaryForTarget(f"{binary.origin} holds Node.js addons, and the {target.name} root has no Node.js "
                                f"({NODE}: Debian's nodejs is built for glibc only)",
                                fix="test it on a glibc target")
    name = binary.project or product.name
    prefix = runner.own_path(f"{INSTALL_PREFIX}/{product.name.replace('/', '%')}")
    package_dir = f"{prefix}/node_modules/{name}"
    staged = runner.own_path(f"/tmp/archsmoke-install/{binary.file.name}")
    runner.put(binary.file, staged, mode=0o644)
    node = NODE
    script = 'mkdir -p "$1" "$3" && tar -xzf "$2" -C "$1" --strip-components=1'
    if runner.marks_binary_under_test:
        node = f"{prefix}/bin/node"
        script += f' && cp {NODE} "$3/node"'
    runner.run(["/bin/sh", "-c", script, "unpack", package_dir, staged, f"{prefix}/bin"],
               timeout=target.timeouts.install).check()
    libraries = {inside: f"{package_dir}/{inside.removeprefix('package/')}" for _, inside in binary.libraries}
    return Placed(f"{prefix}/bin", node=node, package_dir=package_dir, libraries=libraries)


@dataclass(frozen=True)
class Installer:
    """How a kind of build is installed where it is not by copying its executables onto PATH (as its users
    install it), and the glibc its label admits."""

    applies: Callable[[BinaryUnderTest, Runner], bool]  # this build, on this started target
    install: Callable[..., Placed]  # (build, product, started target, index_url=) -> where it went
    glibc_floor: Callable[[BinaryUnderTest], tuple[tuple[int, int], str] | None] = lambda binary: None


# By BinaryUnderTest.kind (a format's KIND); a target without Python (the musl roots' busybox-only ones) gets a
# wheel's executables onto PATH instead.
INSTALLERS: dict[str, Installer] = {
    "wheel": Installer(applies=lambda binary, runner: runner.has_python, install=_pip_into_venv,
                       glibc_floor=lambda binary: wheel_glibc_floor(binary.file.name)),
    # Addons only: a per-platform package of executables (esbuild's) is copied onto PATH as before.
    "npm": Installer(applies=lambda binary, runner: bool(binary.libraries), install=_npm_into_node_modules),
}


def _site_packages(runner: Runner, bin_dir: str) -> str:
    result = runner.run([f"{bin_dir}/python", "-c", "import sysconfig; print(sysconfig.get_path('platlib'))"]).check()
    return result.stdout.strip()


def _require_launcher(binary: BinaryUnderTest, product: Product, runner: Runner, bin_dir: str) -> None:
    if runner.run(["/bin/sh", "-c", 'test -e "$0"', f"{bin_dir}/{product.main}"]).exit_code != 0:
        inside = dict(binary.package_data).get(product.main, "its package data")
        raise BinaryError(f"{binary.origin} installs no `{product.main}` command (its executable is {inside}, and "
                          f"the wheel declares no console script of that name)",
                          fix=f"pass a wheel whose entry points include {product.main}, or its executable itself")
