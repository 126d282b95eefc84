"""Fixtures for archsmoke's own tests: the real cache, real root filesystems, real uv wheels, a loopback index."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest

from archsmoke.binary import UV, BinaryUnderTest
from archsmoke.origins import download_release
from archsmoke.cache import Cache
from pkgindex import PackageIndex
from archsmoke.rootfs import RootFilesystem, RootfsBuilder
from archsmoke.targets import TargetCatalog
from archsmoke.tiers import load_catalog

# A pinned release, so the self-tests do not move when uv publishes.
UV_VERSION = "0.13.9"


@pytest.fixture(scope="session")
def cache(archsmoke) -> Cache:
    """The same cache the smoke tests use: root filesystems are built once per machine."""
    return archsmoke.cache


@pytest.fixture(scope="session")
def catalog() -> TargetCatalog:
    return load_catalog()


@pytest.fixture(scope="session")
def built(cache, catalog):
    """built("ppc64le") -> the real, cached root filesystem of that arch."""

    @functools.cache
    def build(arch: str) -> RootFilesystem:
        return RootfsBuilder(cache).ensure(catalog.get(arch))

    return build


@pytest.fixture(scope="session")
def ssh_machines(cache, catalog, tmp_path_factory):
    """ssh_machines("ppc64le") -> a running emulated ppc64le machine with Debian's sshd (tests/sshd.py);
    ssh_machines.args(m1, m2) -> the options of a run on them."""
    from sshd import Machines

    machines = Machines(RootfsBuilder(cache), catalog, tmp_path_factory.mktemp("ssh"))
    yield machines
    machines.stop()


@pytest.fixture(scope="session")
def release(cache, catalog):
    """release("ppc64le") -> uv's real wheel for that arch, downloaded once from the package index."""

    @functools.cache
    def fetch(arch: str, version: str = UV_VERSION) -> BinaryUnderTest:
        return download_release(UV, version, catalog.get(arch), cache)

    return fetch


class LoopbackIndex(PackageIndex):
    """archsmoke's own index server (tests/pkgindex.py), starting empty; files come with publish()."""

    def __init__(self, root: Path):
        (root / "files").mkdir(parents=True, exist_ok=True)
        super().__init__(root)

    @property
    def url(self) -> str:
        return self.http_url


@pytest.fixture
def loopback_index(tmp_path):
    index = LoopbackIndex(tmp_path / "index")
    yield index
    index.close()


@pytest.fixture(scope="session")
def engine():
    """The container engine on this host, with the flags it needs here (podman on archsmoke's CI)."""
    from archsmoke.host.engine import detect

    return detect()


@pytest.fixture
def registry(tmp_path, monkeypatch, engine):
    """A real distribution registry on 127.0.0.1; the engine is told it speaks plain HTTP."""
    from registry import LoopbackRegistry

    server = LoopbackRegistry(tmp_path / "registry")
    monkeypatch.setenv("CONTAINERS_REGISTRIES_CONF", str(server.registries_conf))
    yield server
    server.forget(engine)
    server.close()
