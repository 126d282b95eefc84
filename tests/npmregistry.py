"""An npm registry of the tests' own on 127.0.0.1: a metadata document per package (as registry.npmjs.org
serves them: versions, dist-tags, each version's tarball URL and sha512 integrity) and the tarballs."""

from __future__ import annotations

import base64
import hashlib
import http.server
import json
import tarfile
import threading
import urllib.parse
from pathlib import Path


def manifest_of(tarball: Path) -> dict:
    with tarfile.open(tarball, "r:gz") as archive:
        return json.loads(archive.extractfile("package/package.json").read())


def integrity_of(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


class NpmRegistry:
    def __init__(self, root: Path):
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.documents: dict[str, dict] = {}
        self.requests: list[str] = []
        registry = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (the standard library's name)
                path = urllib.parse.unquote(self.path.split("?", 1)[0])
                registry.requests.append(path)
                if path.startswith("/-/tarballs/"):
                    file = registry.root / path.rsplit("/", 1)[-1]
                    body, kind = (file.read_bytes(), "application/octet-stream") if file.is_file() else (None, "")
                else:
                    document = registry.documents.get(path.lstrip("/"))
                    body, kind = (json.dumps(document).encode(), "application/json") if document else (None, "")
                if body is None:
                    self.send_error(404, "not found")
                    return
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def publish(self, tarball: Path, claimed_integrity: str | None = None) -> str:
        """Serve a package tarball (npm pack's); claimed_integrity publishes a wrong one on purpose."""
        manifest = manifest_of(tarball)
        name, version = manifest["name"], manifest["version"]
        served = self.root / tarball.name
        served.write_bytes(tarball.read_bytes())
        document = self.documents.setdefault(name, {"name": name, "dist-tags": {}, "versions": {}})
        document["versions"][version] = {
            "name": name, "version": version,
            "dist": {"tarball": f"{self.url}/-/tarballs/{tarball.name}",
                     "integrity": claimed_integrity or integrity_of(served.read_bytes())},
        }
        document["dist-tags"]["latest"] = max(document["versions"], key=lambda v: tuple(map(int, v.split("."))))
        return name

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
