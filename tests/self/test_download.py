"""Downloading uv's wheels, against a real HTTP index on 127.0.0.1 serving real wheels."""

import hashlib
import shutil
import socket

import pytest

from archsmoke.binary import index as download
from archsmoke.binary import UV
from archsmoke.origins import download_release
from archsmoke.cache import Cache
from archsmoke.errors import DownloadError


@pytest.fixture
def index(loopback_index, release, tmp_path):
    """An index with the real ppc64le and s390x wheels of 0.13.9, and two more names for resolution."""
    real = [release("ppc64le").file, release("s390x").file]
    renamed = []
    for version in ("0.13.8", "0.14.0rc1"):  # older and pre-release: `latest` must still pick 0.13.9
        copy = tmp_path / real[0].name.replace("0.13.9", version)
        shutil.copyfile(real[0], copy)
        renamed.append(copy)
    loopback_index.publish(real + renamed)
    return loopback_index


@pytest.fixture
def empty_cache(tmp_path):
    return Cache(tmp_path / "cache")


def test_latest_resolves_to_the_newest_release(index, empty_cache, catalog):
    binary = download_release(UV, "latest", catalog.get("ppc64le"), empty_cache, index_url=index.url)
    assert binary.version == "0.13.9" and binary.kind == "wheel"
    assert binary.elf.machine == "PPC64"
    assert binary.file.parent.name == hashlib.sha256(binary.file.read_bytes()).hexdigest()


def test_a_pinned_version_is_reused_from_the_cache_without_the_network(index, empty_cache, catalog):
    download_release(UV, "0.13.9", catalog.get("s390x"), empty_cache, index_url=index.url)
    served = len(index.requests)
    again = download_release(UV, "0.13.9", catalog.get("s390x"), empty_cache, index_url="http://127.0.0.1:9/unused")
    assert len(index.requests) == served and again.version == "0.13.9"


def test_a_damaged_cached_file_is_downloaded_again(index, empty_cache, catalog):
    first = download_release(UV, "0.13.9", catalog.get("s390x"), empty_cache, index_url=index.url)
    data = bytearray(first.file.read_bytes())
    data[1000] ^= 0xFF
    first.file.write_bytes(bytes(data))
    again = download_release(UV, "0.13.9", catalog.get("s390x"), empty_cache, index_url=index.url)
    assert any(path.endswith(".whl") for path in index.requests[-1:])
    assert hashlib.sha256(again.file.read_bytes()).hexdigest() == again.sha256


def test_a_corrupt_download_is_refused_and_not_cached(loopback_index, release, empty_cache, catalog):
    wheel = release("ppc64le").file
    loopback_index.publish([wheel], sha256={wheel.name: "0" * 64})
    with pytest.raises(DownloadError) as caught:
        download_release(UV, "0.13.9", catalog.get("ppc64le"), empty_cache, index_url=loopback_index.url)
    assert f"{wheel.name} from http://127.0.0.1" in str(caught.value) and "is corrupt" in str(caught.value)
    leftovers = [p for p in (empty_cache.root / download.KIND).rglob("*") if not p.name.endswith(".lock")]
    assert leftovers == []


def test_a_version_that_does_not_exist(index, empty_cache, catalog):
    with pytest.raises(DownloadError, match=r"uv 9\.9\.9 does not exist on the index \(newest there: 0\.14\.0rc1, 0\.13\.9, 0\.13\.8\)"):
        download_release(UV, "9.9.9", catalog.get("ppc64le"), empty_cache, index_url=index.url)
    with pytest.raises(DownloadError, match="'banana' is not a version number"):
        download_release(UV, "banana", catalog.get("ppc64le"), empty_cache, index_url=index.url)


def test_a_version_without_a_wheel_for_the_arch(index, empty_cache, catalog):
    with pytest.raises(DownloadError, match=r"uv 0\.13\.9 has no wheel for platforms manylinux_2_17_armv7l"):
        download_release(UV, "0.13.9", catalog.get("armv7"), empty_cache, index_url=index.url)


def test_an_unreachable_index(empty_cache, catalog):
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(DownloadError, match=f"cannot reach http://127.0.0.1:{port}/simple/uv/"):
        download_release(UV, "latest", catalog.get("ppc64le"), empty_cache, index_url=f"http://127.0.0.1:{port}/simple")


def test_an_index_without_the_project(loopback_index, empty_cache, catalog):
    with pytest.raises(DownloadError, match=rf"the index {loopback_index.url} has no project uv \(.*answered HTTP 404"
                                          r"[^)]*\)\n  fix: check the product's name on the index"):
        download_release(UV, "latest", catalog.get("ppc64le"), empty_cache, index_url=loopback_index.url)


def test_npm_errors_name_the_npm_registry_option(empty_cache, catalog):
    from archsmoke.binary import ESBUILD

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(DownloadError, match="check the network, or pass --npm-registry"):
        download_release(ESBUILD, "latest", catalog.get("ppc64le"), empty_cache, npm_registry=f"http://127.0.0.1:{port}")


def test_simple_page_parsing(index):
    files = download.list_files(index.url, "uv")
    assert {f.filename for f in files} >= {"uv-0.13.9-py3-none-manylinux_2_17_ppc64le.manylinux2014_ppc64le.whl"}
    assert all(f.sha256 and len(f.sha256) == 64 for f in files)
    assert all(f.url.startswith("http://127.0.0.1:") for f in files)


class _OddServer:
    """A server on 127.0.0.1 that answers every request with 200 and the body the test gives, at its pace."""

    def __init__(self, body: bytes, content_type: str = "text/html", pause: float = 0.0):
        import http.server
        import threading
        import time

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                for offset in range(len(body)):
                    self.wfile.write(body[offset:offset + 1])
                    self.wfile.flush()
                    time.sleep(pause)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/simple"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def test_an_error_page_served_as_200_names_the_url(empty_cache, catalog):
    server = _OddServer(b"<html><body><h1>Service temporarily unavailable</h1></body></html>")
    try:
        with pytest.raises(DownloadError) as caught:
            download_release(UV, "0.14.1", catalog.get("ppc64le"), empty_cache, index_url=server.url)
    finally:
        server.close()
    message = str(caught.value)
    assert f"{server.url}/uv/ lists no files of uv" in message and "Service temporarily unavailable" in message
    assert "PEP 503 simple index" in message


def test_a_server_that_drips_its_answer_hits_the_overall_deadline(empty_cache, catalog, monkeypatch):
    """Headers, then one byte at a time: every socket read succeeds, so only an overall deadline ends it."""
    import time

    monkeypatch.setattr(download, "PAGE_DEADLINE", 2)
    server = _OddServer(b"<html>" + b" " * 100 + b"</html>", pause=0.5)
    begun = time.monotonic()
    try:
        with pytest.raises(DownloadError, match=r"did not finish within 2 s \(it was still sending after [23] s\)"):
            download_release(UV, "latest", catalog.get("ppc64le"), empty_cache, index_url=server.url)
    finally:
        server.close()
    assert time.monotonic() - begun < 10
