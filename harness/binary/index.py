"""Wheels from a package index (PEP 503 simple API), cached by their sha256.

Cache entries: ``downloads/<sha256>/<filename>``; the directory name is the
file's hash, checked again on every use.  A download is written to a
temporary file and becomes an entry only after its hash matched.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

from packaging.utils import InvalidWheelFilename, parse_wheel_filename
from packaging.version import InvalidVersion, Version

from ..cache import Cache, remove_tree, sha256_file
from ..errors import ConfigError, DownloadError, NoBinaryForTarget
from ..progress import Progress, Sink

KIND = "downloads"
ENV_INDEX_URL = "ARCHSMOKE_INDEX_URL"
TIMEOUT = 60  # for each read from the socket
# For a whole transfer: a server that answers a byte at a time never trips the per-read timeout.
PAGE_DEADLINE = 120
FILE_DEADLINE = 900


@dataclass(frozen=True)
class IndexFile:
    filename: str
    url: str
    sha256: str | None
    yanked: bool

    @property
    def version(self) -> Version | None:
        try:
            return parse_wheel_filename(self.filename)[1]
        except InvalidWheelFilename:
            return None

    @property
    def platforms(self) -> set[str]:
        return wheel_platforms(self.filename)


def wheel_platforms(filename: str) -> set[str]:
    """The platform tags in a wheel's file name (none for a file that is not a wheel)."""
    try:
        return {tag.platform for tag in parse_wheel_filename(filename)[3]}
    except InvalidWheelFilename:
        return set()


def default_index_url() -> str:
    """The index this host's pip uses: archsmoke downloads from where pip would."""
    for variable in (ENV_INDEX_URL, "PIP_INDEX_URL"):
        if os.environ.get(variable):
            return os.environ[variable]
    try:
        configured = subprocess.run([sys.executable, "-m", "pip", "config", "get", "global.index-url"],
                                    capture_output=True, text=True, timeout=30)
        if configured.returncode == 0 and configured.stdout.strip():
            return configured.stdout.strip()
        from pip._internal.models.index import PyPI  # pip's own default

        return PyPI.simple_url
    except (ImportError, OSError, subprocess.TimeoutExpired):
        raise DownloadError("cannot tell which package index to use (pip is not available)",
                            fix=f"pass --index-url URL or set {ENV_INDEX_URL}") from None


class _LinkParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[tuple[str, dict[str, str | None]]] = []
        self._attrs: dict[str, str | None] | None = None
        self._text = ""

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self._attrs, self._text = dict(attrs), ""

    def handle_data(self, data):
        if self._attrs is not None:
            self._text += data

    def handle_endtag(self, tag):
        if tag == "a" and self._attrs is not None:
            self.links.append((self._text.strip(), self._attrs))
            self._attrs = None


HTTP_SCHEMES = ("http", "https")


def require_http(url: str, said_by: str) -> str:
    """A URL archsmoke may download from: http(s) only, whoever named it (a link on an index page, an npm document,
    the user): a file: or ftp: link would copy a file of this host into the cache, or reach what it should not."""
    scheme = urllib.parse.urlsplit(url).scheme.lower()
    if scheme not in HTTP_SCHEMES:
        raise DownloadError(f"{said_by} names {url[:200]!r}, which is not an http(s) URL: archsmoke downloads only "
                            "over http and https", fix="use an index or registry that serves its files over http(s)")
    return url


def require_http_option(url: str | None, flag: str) -> None:
    """--index-url and --npm-registry: an http(s) URL, refused as bad input before anything runs."""
    if url is not None and urllib.parse.urlsplit(url).scheme.lower() not in HTTP_SCHEMES:
        raise ConfigError(f"{flag} {url[:200]!r} is not an http(s) URL: archsmoke downloads only over http and https",
                          fix=f"pass a URL such as {flag} https://pypi.org/simple" if flag == "--index-url" else
                          f"pass a URL such as {flag} https://registry.npmjs.org")


def download_name(name: str, url: str, said_by: str) -> str:
    """A file name taken from a link or URL, checked as archive members are: one plain name, nothing else."""
    if name in ("", ".", "..") or any(c in name for c in "/\\\0") or name.startswith("."):
        raise DownloadError(f"{said_by} gives {url[:200]!r} the file name {name[:100]!r}, which is not a plain file "
                            "name", fix="use an index or registry whose files have plain names")
    return name


def open_url(url: str, accept: str = "text/html", option: str = "--index-url"):
    """An http(s) response; errors name the option that chose the server (--index-url, --npm-registry)."""
    require_http(url, "the address given")
    context = ssl.create_default_context(cafile=os.environ.get("PIP_CERT") or None)
    request = urllib.request.Request(url, headers={"User-Agent": "archsmoke", "Accept": accept})
    try:
        return urllib.request.urlopen(request, timeout=TIMEOUT, context=context)
    except urllib.error.HTTPError as exc:
        raise DownloadError(f"{url} answered HTTP {exc.code} {exc.reason}",
                            fix=f"check the version and {option}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DownloadError(f"cannot reach {url}: {reason}",
                            fix=f"check the network, or pass {option} / a local --binary instead") from None


def read_chunks(response, url: str, deadline: float, size: int = 1 << 20):
    """The body in chunks as they arrive (read1: one receive each), stopped at an overall deadline."""
    started = time.monotonic()
    while True:
        waited = time.monotonic() - started
        if waited > deadline:
            raise DownloadError(f"{url} did not finish within {deadline:.0f} s (it was still sending after "
                                f"{waited:.0f} s)", fix="try again later, or use another --index-url")
        try:
            block = response.read1(size)
        except (TimeoutError, OSError) as exc:
            raise DownloadError(f"reading {url} failed after {waited:.0f} s: {exc}",
                                fix="try again; check the network or --index-url") from None
        if not block:
            return
        yield block


def list_files(index_url: str, project: str) -> list[IndexFile]:
    page_url = index_url.rstrip("/") + f"/{project}/"
    try:
        response = open_url(page_url)
    except DownloadError as error:
        if "HTTP 404" not in error.problem:
            raise
        raise DownloadError(f"the index {index_url} has no project {project} ({error.problem})",
                            fix="check the product's name on the index (Product(project=...)) and --index-url") \
            from None
    with response:
        body = b"".join(read_chunks(response, page_url, PAGE_DEADLINE)).decode("utf-8", "replace")
        base = response.geturl()
        kind = response.headers.get("Content-Type", "no content type")
    parser = _LinkParser()
    parser.feed(body)
    if not parser.links:
        shown = " ".join(body.split())[:120]
        raise DownloadError(f"{page_url} lists no files of {project}: it answered {len(body)} characters of {kind} "
                            f"without a link ({shown!r})",
                            fix="check --index-url: it must be a PEP 503 simple index (such as https://pypi.org/simple)")
    files = []
    for text, attrs in parser.links:
        href = attrs.get("href") or ""
        url, _, fragment = urllib.parse.urljoin(base, href).partition("#")
        digest = fragment[len("sha256="):] if fragment.startswith("sha256=") else None
        filename = text or urllib.parse.unquote(url.rsplit("/", 1)[-1])
        said_by = f"the index page {page_url}"
        require_http(url, said_by)
        download_name(filename, url, said_by)
        files.append(IndexFile(filename, url, digest, "data-yanked" in attrs))
    return files


_LEVELLED = re.compile(r"^(manylinux|musllinux)_(\d+)_(\d+)_(\w+)$")


def with_other_levels(platforms: tuple[str, ...], wheels: list[IndexFile]) -> tuple[str, ...]:
    """A target's platforms, then the other levels of the same families the wheels carry, oldest first: a release
    tagged only manylinux_2_28_x86_64 is for x86_64 too (whether the root's glibc reaches it, install checks)."""
    families = {(m[1], m[4]) for p in platforms if (m := _LEVELLED.match(p))}
    others = {(int(m[2]), int(m[3]), p) for f in wheels for p in f.platforms
              if (m := _LEVELLED.match(p)) and (m[1], m[4]) in families and p not in platforms}
    return (*platforms, *(p for *_, p in sorted(others)))


def preferred(wheels: list[IndexFile], platforms: tuple[str, ...]) -> IndexFile | None:
    """The wheel a target installs: by its platforms in order of preference (as its installer ranks them; other
    levels of its families after them), and among wheels carrying the same one, the build made for this target's
    platforms only (uv ships, for one arch, a manylinux-only glibc build beside a manylinux+musllinux static one:
    a glibc root's installer takes the former, a musl root the latter)."""
    platforms = with_other_levels(platforms, wheels)
    for platform in platforms:
        carrying = sorted((f for f in wheels if platform in f.platforms), key=lambda f: f.filename)
        if carrying:
            return min(carrying, key=lambda f: len(f.platforms - set(platforms)))
    return None


def choose_file(files: list[IndexFile], version: str, platforms: tuple[str, ...], project: str) -> IndexFile:
    wheels = [f for f in files if f.filename.endswith(".whl") and f.version is not None]
    if version == "latest":
        releases = [f.version for f in wheels if not f.yanked and not f.version.is_prerelease]
        if not releases:
            raise DownloadError(f"the index lists no releases of {project}")
        wanted = max(releases)
    else:
        try:
            wanted = Version(version)
        except InvalidVersion:
            raise DownloadError(f"{version!r} is not a version number", fix="pass a version number such as 0.13.9, or latest") from None
    same_version = [f for f in wheels if f.version == wanted]
    if not same_version:
        newest = sorted({f.version for f in wheels}, reverse=True)[:5]
        raise DownloadError(
            f"{project} {version} does not exist on the index (newest there: {', '.join(map(str, newest))})",
            fix=f"pass an existing version of {project} to --release, or 'latest'",
        )
    chosen = preferred(same_version, platforms)
    if chosen is not None:
        return chosen
    offered = sorted({p for f in same_version for p in f.platforms if "linux" in p})
    listed = ", ".join(offered) if len(offered) <= 6 else f"{len(offered)} other Linux platforms"
    raise NoBinaryForTarget(
        f"{project} {wanted} has no wheel for platforms {', '.join(platforms)} (it has {listed})",
        fix="choose another version or arch, or pass a local build with --binary",
    )


def _verify(path: Path, meta: dict) -> str:
    file = path / meta.get("file", "?")
    if not file.is_file():
        return f"{file.name} is missing"
    return "" if sha256_file(file) == path.name else f"{file.name} no longer matches its sha256"


def find_cached(cache: Cache, filename: str) -> Path | None:
    area = cache.root / KIND
    for path in sorted(area.glob(f"*/{filename}")) if area.is_dir() else []:
        if cache.lookup(KIND, path.parent.name, _verify):
            return path
    return None


def _write(out, block: bytes, cache: Cache) -> None:
    try:
        out.write(block)
    except OSError as exc:  # the disk, not the network
        raise ConfigError(f"cannot write a download into the cache at {cache.root}: {exc.strerror}",
                          fix="free space there, or choose another with --cache-dir") from None


def _integrity(integrity: str | None, url: str):
    """The hash a Subresource Integrity string ("sha512-BASE64", the npm registry's) asks for, and its value."""
    if not integrity:
        return None, b""
    algorithm, _, value = integrity.partition("-")
    if algorithm not in ("sha512", "sha384", "sha256") or not value:
        raise DownloadError(f"{url} is published with an integrity of a kind archsmoke does not check: {integrity!r}",
                            fix="use a registry that publishes sha512 integrity, or pass the file with --binary")
    try:
        return hashlib.new(algorithm), base64.b64decode(value, validate=True)
    except ValueError:
        raise DownloadError(f"{url} is published with a malformed integrity {integrity!r}",
                            fix="the registry's metadata is damaged; try again later or pass the file with --binary") \
            from None


def fetch(cache: Cache, item: IndexFile, sink: Sink | None = None, integrity: str | None = None) -> Path:
    """Download one file into the cache (or reuse it), verifying its sha256 (and its integrity, if given)."""
    if item.sha256 and cache.lookup(KIND, item.sha256, _verify):
        return cache.entry_path(KIND, item.sha256) / item.filename
    progress = Progress(f"download {item.filename}", sink)
    area = cache.area(KIND)
    partial = area / f".tmp-download-{os.getpid()}-{item.filename}"
    digest = hashlib.sha256()
    checked, wanted = _integrity(integrity, item.url)
    try:
        with open_url(item.url) as response, open(partial, "wb") as out:
            total = int(response.headers.get("Content-Length") or 0)
            done = 0
            for block in read_chunks(response, item.url, FILE_DEADLINE):
                _write(out, block, cache)
                digest.update(block)
                if checked is not None:
                    checked.update(block)
                done += len(block)
                progress.update(f"{done >> 20} of {total >> 20 or '?'} MiB")
        actual = digest.hexdigest()
        if checked is not None and checked.digest() != wanted:
            raise DownloadError(
                f"{item.filename} from {item.url} does not match its published integrity ({integrity[:24]}…): "
                f"it is {checked.name}-{base64.b64encode(checked.digest()).decode()[:16]}…",
                fix="try again; if it persists the registry or a proxy is serving a damaged file")
        if item.sha256 and actual != item.sha256:
            raise DownloadError(
                f"{item.filename} from {item.url} is corrupt: its sha256 is {actual}, the index says {item.sha256}",
                fix="try again; if it persists the index or a proxy is serving a damaged file",
            )

        def publish(work: Path) -> dict:
            os.replace(partial, work / item.filename)
            return {"file": item.filename, "url": item.url}

        entry = cache.ensure(KIND, actual, build=publish, verify=_verify)
        progress.say(f"{done >> 20} MiB, sha256 {actual[:16]}…")
        return entry.path / item.filename
    finally:
        remove_tree(partial)
