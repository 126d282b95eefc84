"""An origin is its own code plus one registry line: a minimal origin defined here (a directory of files served as
releases: DIR/PRODUCT/VERSION/PRODUCT-ARCH), with its own option, registered by one line, gives --release its
builds (the newest for 'latest'), and bisect's list of releases, with nothing outside its own code changed."""

from __future__ import annotations

import subprocess
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest

from archsmoke.binary import Product
from archsmoke.bisect import between
from archsmoke.errors import ConfigError
from archsmoke.origins import ORIGINS, Origins
from extensions import pytest_with, write_and_import

ORIGIN_MODULE = '''
"""dir: releases as files in a directory, DIR/PRODUCT/VERSION/PRODUCT-ARCH (ARCH as `uname -m` says it)."""

from pathlib import Path

from packaging.version import InvalidVersion, Version

from archsmoke.binary.unpack import prepare
from archsmoke.errors import ConfigError
from archsmoke.origins import register
from archsmoke.origins.base import Origin, OriginOption, Published


class DirectoryOrigin(Origin):
    name = "dir"
    option = OriginOption("--releases-dir", "releases_dir", "a directory of releases: DIR/PRODUCT/VERSION/PRODUCT-ARCH",
                          metavar="DIR")

    @classmethod
    def check(cls, where):
        if where is not None and not Path(where).is_dir():
            raise ConfigError(f"--releases-dir {where}: no such directory", fix="pass a directory of releases")

    def project(self, product, target):
        return product.name

    def _versions(self, product):
        found = {}
        for folder in (Path(self.where or ".") / product.name).iterdir():
            try:
                found[Version(folder.name)] = folder
            except InvalidVersion:
                continue
        return found

    def _file(self, folder, product, target):
        return folder / f"{product.name}-{target.arch.uname}"

    def fetch(self, product, version, target, cache, sink=None):
        versions = self._versions(product)
        chosen = max(versions) if version == "latest" else Version(version)
        if chosen not in versions or not self._file(versions[chosen], product, target).is_file():
            raise ConfigError(f"{product.name} {version} has no build for {target.name} in {self.where}")
        path = self._file(versions[chosen], product, target)
        return prepare(path, cache, origin=f"{product.name} {chosen} ({path.name} from {self.where})",
                       version=str(chosen))

    def published(self, product, target):
        return Published(str(self.where), product.name,
                         {v: self._file(f, product, target).is_file() for v, f in self._versions(product).items()})


register(DirectoryOrigin)
'''

CONFTEST = '''
import pytest
from archsmoke import Product

@pytest.fixture(scope="session")
def archsmoke_product():
    return Product("hosttool", executables=("hosttool",), origin="dir")
'''

PROGRAM = r"""
#include <signal.h>
#include <stdio.h>
#include <string.h>
int main(int argc, char **argv) {
    const char *flag = argc > 1 ? argv[1] : "";
    if (strcmp(flag, "--version") == 0) { puts("hosttool " VERSION); return 0; }
#ifdef CRASHES_ON_HELP
    if (strcmp(flag, "--help") == 0) raise(SIGSEGV);
#endif
    if (strcmp(flag, "--help") == 0) { puts("usage: hosttool [--version]"); return 0; }
    return 2;
}
"""
TOOL = Product("hosttool", executables=("hosttool",), origin="dir")


@pytest.fixture
def origin_module(tmp_path):
    folder = tmp_path / "origin"
    yield folder, write_and_import(folder, "dir_origin", ORIGIN_MODULE)
    ORIGINS.pop("dir", None)


@pytest.fixture
def releases(tmp_path):
    """hosttool 1.0.0 (sound) and 1.1.0 (killed by SIGSEGV on --help), built for this host (x86_64)."""
    (tmp_path / "hosttool.c").write_text(PROGRAM)
    for version, flags in (("1.0.0", []), ("1.1.0", ["-DCRASHES_ON_HELP"])):
        folder = tmp_path / "releases" / "hosttool" / version
        folder.mkdir(parents=True)
        subprocess.run(["gcc", "-O1", f'-DVERSION="{version}"', "-o", str(folder / "hosttool-x86_64"),
                        str(tmp_path / "hosttool.c"), *flags], check=True)
    return tmp_path / "releases"


def _suite(tmp_path: Path, origin_folder: Path, cache, *args: str) -> tuple[int, str, Path]:
    project = tmp_path / "project"
    project.mkdir(exist_ok=True)
    (project / "conftest.py").write_text(CONFTEST)
    junit = tmp_path / f"junit-{len(list(tmp_path.glob('junit-*')))}.xml"
    done = pytest_with(origin_folder, "dir_origin", ["--pyargs", "archsmoke.generic", "--arch", "x86_64", "--cache-dir",
                                                     str(cache.root), f"--junitxml={junit}", *args], project)
    return done.returncode, done.stdout + done.stderr, junit


def test_extra_origin_gives_releases_to_the_suite_and_to_bisect(origin_module, releases, tmp_path, cache, catalog):
    folder, module = origin_module
    # --release latest is the newest in the directory, and its defect fails the run.
    code, output, _ = _suite(tmp_path, folder, cache, "--release", "latest", "--releases-dir", str(releases))
    assert code == 1, output
    assert "`hosttool --help` was killed by signal 11 (SIGSEGV)" in output, output
    # A pinned release comes from it too, and the report names where.
    code, output, junit = _suite(tmp_path, folder, cache, "--release", "1.0.0", "--releases-dir", str(releases))
    assert code == 0, output
    origins = {p.get("value") for p in ElementTree.parse(junit).iter("property")
               if p.get("name") == "archsmoke_binary_origin"}
    assert origins == {f"hosttool 1.0.0 (hosttool-x86_64 from {releases})"}, origins
    # Its option is checked before anything runs, by the origin itself.
    code, output, _ = _suite(tmp_path, folder, cache, "--release", "1.0.0", "--releases-dir", str(tmp_path / "none"))
    assert code != 0 and "--releases-dir" in output and "no such directory" in output, output
    assert "Traceback" not in output, output
    # bisect lists the releases through it.
    origin = Origins({"releases_dir": str(releases)}).for_product(TOOL)
    assert isinstance(origin, module.DirectoryOrigin)
    assert between(TOOL, catalog.get("x86_64"), "1.0.0", "1.1.0", origin).versions == ["1.0.0", "1.1.0"]
    assert Origins({"releases_dir": str(releases)}).argv() == ["--releases-dir", str(releases)]


def test_extra_origin_named_like_a_built_in_one_is_refused(origin_module):
    from archsmoke.origins import register

    _, module = origin_module
    with pytest.raises(ConfigError, match="two origins are named 'npm'"):
        register(type("Clash", (module.DirectoryOrigin,), {"name": "npm"}))
    with pytest.raises(ConfigError, match="origin dir2's option --releases-dir is origin dir's"):
        register(type("SameOption", (module.DirectoryOrigin,), {"name": "dir2"}))
    with pytest.raises(ConfigError, match="published on origin 'nowhere'"):
        Origins().for_product(Product("lost", executables=("lost",), origin="nowhere"))
    assert set(ORIGINS) == {"index", "npm", "dir"}
