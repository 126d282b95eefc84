"""Fixtures for archsmoke's own tests: the real cache, real root filesystems, real uv wheels, a loopback index."""

from __future__ import annotations

import functools
import hashlib
import http.server
import shutil
import threading
from pathlib import Path

import pytest

from harness.binary import BinaryUnderTest, download_release
from harness.cache import Cache
from harness.rootfs import RootFilesystem, RootfsBuilder
from harness.targets import TargetCatalog

# A pinned release, so the self-tests do not move when uv publishes.
UV_VERSION = "0.13.9"


@pytest.fixture(scope="session")
def cache(archsmoke) -> Cache:
    """The same cache the smoke tests use: root filesystems are built once per machine."""
    return archsmoke.cache


@pytest.fixture(scope="session")
def catalog() -> TargetCatalog:
    return TargetCatalog.load()


@pytest.fixture(scope="session")
def built(cache, catalog):
    """built("ppc64le") -> the real, cached root filesystem of that arch."""

    @functools.cache
    def build(arch: str) -> RootFilesystem:
        return RootfsBuilder(cache).ensure(catalog.get(arch))

    return build


@pytest.fixture(scope="session")
def release(cache, catalog):
    """release("ppc64le") -> uv's real wheel for that arch, downloaded once from the package index."""

    @functools.cache
    def fetch(arch: str, version: str = UV_VERSION) -> BinaryUnderTest:
        return download_release(version, catalog.get(arch), cache)

    return fetch


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


class LoopbackIndex:
    """A PEP 503 index of real files, served by a real HTTP server on 127.0.0.1."""

    def __init__(self, root: Path):
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.requests: list[str] = []
        index = self

        class Handler(_QuietHandler):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, directory=str(root), **kwargs)

            def do_GET(self):
                index.requests.append(self.path)
                super().do_GET()

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/simple"

    def publish(self, project: str, files: list[Path], sha256: dict[str, str] | None = None) -> None:
        """Serve files under /files and list them at /simple/<project>/ with their sha256 (or the given one)."""
        (self.root / "files").mkdir(exist_ok=True)
        links = []
        for path in files:
            served = self.root / "files" / path.name
            if not served.exists():
                shutil.copyfile(path, served)
            digest = (sha256 or {}).get(path.name) or hashlib.sha256(served.read_bytes()).hexdigest()
            links.append(f'<a href="../../files/{path.name}#sha256={digest}">{path.name}</a><br>')
        page = self.root / "simple" / project
        page.mkdir(parents=True, exist_ok=True)
        (page / "index.html").write_text("<!DOCTYPE html><html><body>\n" + "\n".join(links) + "\n</body></html>\n")

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def loopback_index(tmp_path):
    index = LoopbackIndex(tmp_path / "index")
    yield index
    index.close()
