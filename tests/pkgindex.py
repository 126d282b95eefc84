"""A package index of the session's own: PEP 503 pages over a directory of distributions,
served by the standard library's HTTP server on 127.0.0.1, over HTTP and over HTTPS.

Targets share the host's network namespace, so they reach it at 127.0.0.1 too.
"""

from __future__ import annotations

import hashlib
import html
import os
import shutil
import http.server
import ssl
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from packaging.utils import canonicalize_name, parse_sdist_filename, parse_wheel_filename


def project_of(filename: str) -> str:
    if filename.endswith(".whl"):
        return canonicalize_name(parse_wheel_filename(filename)[0])
    return canonicalize_name(parse_sdist_filename(filename)[0])


def write_simple_pages(files_dir: Path, simple_dir: Path, claimed_sha256: dict[str, str] | None = None) -> None:
    """/simple/<project>/index.html for every wheel and sdist in files_dir, with sha256 fragments.

    claimed_sha256 overrides the hash published for a file name (to serve a corrupt download on purpose).
    """
    projects: dict[str, list[Path]] = {}
    for path in sorted(files_dir.iterdir()):
        if path.name.endswith((".whl", ".tar.gz")):
            projects.setdefault(project_of(path.name), []).append(path)
    simple_dir.mkdir(parents=True, exist_ok=True)
    root_links = []
    for project, paths in sorted(projects.items()):
        links = []
        for path in paths:
            digest = (claimed_sha256 or {}).get(path.name) or hashlib.sha256(path.read_bytes()).hexdigest()
            links.append(f'<a href="../../files/{html.escape(path.name)}#sha256={digest}">{html.escape(path.name)}</a><br>')
        (simple_dir / project).mkdir(exist_ok=True)
        (simple_dir / project / "index.html").write_text(_page(project, links))
        root_links.append(f'<a href="{project}/">{project}</a><br>')
    (simple_dir / "index.html").write_text(_page("Simple index", root_links))


def add_files(root: Path, files: Iterable[Path], claimed_sha256: dict[str, str] | None = None) -> None:
    """Copy distributions into root/files (a name already there is kept) and rewrite root/simple."""
    (root / "files").mkdir(parents=True, exist_ok=True)
    for path in files:
        served = root / "files" / path.name
        if not served.exists():
            shutil.copyfile(path, served)
    write_simple_pages(root / "files", root / "simple", claimed_sha256)


def index_tree(root: Path, *file_dirs: Path) -> Path:
    """Lay out root/files and root/simple for a PackageIndex serving the files of these directories."""
    add_files(root, [path for files in file_dirs for path in files.iterdir()])
    return root


def _page(title: str, links: list[str]) -> str:
    body = "\n".join(links)
    return f"<!DOCTYPE html>\n<html><head><title>{html.escape(title)}</title></head><body>\n{body}\n</body></html>\n"


class _Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # keep pytest's output clean
        pass

    def send_head(self):
        # /simple/<project> without the slash: redirect, with a Content-Type as real indexes send
        # (early uv releases refuse a response without one).
        path = self.translate_path(self.path)
        parts = self.path.split("?", 1)
        if os.path.isdir(path) and not parts[0].endswith("/"):
            self.send_response(301)
            self.send_header("Location", parts[0] + "/" + ("?" + parts[1] if len(parts) > 1 else ""))
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None
        # No conditional requests: the 304 answer carries no Content-Type, which early uv releases
        # refuse when they revalidate their HTTP cache.  Always answering 200 is valid HTTP.
        del self.headers["If-Modified-Since"]
        return super().send_head()


@dataclass
class _Server:
    httpd: http.server.ThreadingHTTPServer
    thread: threading.Thread

    @property
    def port(self) -> int:
        return self.httpd.server_address[1]


class PackageIndex:
    """Serves root/ (holding files/ and simple/) on 127.0.0.1; add HTTPS with serve_https()."""

    def __init__(self, root: Path):
        self.root = root
        self.requests: list[str] = []
        self._servers: list[_Server] = []
        self._http = self._serve(None)
        self._https: _Server | None = None

    def _serve(self, context: ssl.SSLContext | None) -> _Server:
        root, requests = self.root, self.requests

        class Handler(_Handler):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, directory=str(root), **kwargs)

            def do_GET(self):
                requests.append(self.path)
                super().do_GET()

        httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        httpd.daemon_threads = True
        if context is not None:
            httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
        thread = threading.Thread(target=httpd.serve_forever, name=f"index:{httpd.server_address[1]}", daemon=True)
        thread.start()
        server = _Server(httpd, thread)
        self._servers.append(server)
        return server

    def serve_https(self, certificate_chain: Path, private_key: Path) -> str:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(certificate_chain, private_key)
        server = self._serve(context)
        return f"https://127.0.0.1:{server.port}/simple"

    def publish(self, files: Iterable[Path], sha256: dict[str, str] | None = None) -> None:
        """Serve these distributions too, listed with their sha256 (or the one given, to serve a corrupt
        download on purpose); running servers serve them at once."""
        add_files(self.root, files, sha256)

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self._http.port}/simple"

    def close(self) -> None:
        for server in self._servers:
            server.httpd.shutdown()
            server.httpd.server_close()
        self._servers.clear()

    def __enter__(self) -> PackageIndex:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
