"""Downloads, verified and cached by their content: files named by an index page, an npm document or a
source pinned in the code (the musl roots' CPython), fetched over http(s) only.

Cache entries: ``downloads/<sha256>/<filename>``; the directory name is the file's hash, checked again on every
use.  A download is written to a temporary file and becomes an entry only after its hash matched.
"""

from __future__ import annotations

import base64
import hashlib
import os
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from .cache import Cache, remove_tree, sha256_file
from .errors import ConfigError, DownloadError
from .progress import Progress, Sink

KIND = "downloads"
TIMEOUT = 60  # for each read from the socket
# For a whole transfer: a server that answers a byte at a time never trips the per-read timeout.
PAGE_DEADLINE = 120
FILE_DEADLINE = 900


@dataclass(frozen=True)
class RemoteFile:
    """A file to download: its plain name, where it is, and its sha256 where the source publishes one."""

    filename: str
    url: str
    sha256: str | None


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


def fetch(cache: Cache, item: RemoteFile, sink: Sink | None = None, integrity: str | None = None) -> Path:
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
