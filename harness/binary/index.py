"""A package index (PEP 503 simple API): its pages read, and the wheel a target's installer would choose among
a release's files.  The files themselves are downloaded and cached by download.py."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from html.parser import HTMLParser

from packaging.utils import InvalidWheelFilename, parse_wheel_filename
from packaging.version import InvalidVersion, Version

from ..download import (KIND, PAGE_DEADLINE, RemoteFile, download_name, fetch, find_cached, open_url, read_chunks,
                        require_http, require_http_option)
from ..errors import DownloadError, NoBinaryForTarget

ENV_INDEX_URL = "ARCHSMOKE_INDEX_URL"


@dataclass(frozen=True)
class IndexFile(RemoteFile):
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


def python_tags(python: tuple[int, int]) -> list[tuple[str, str]]:
    """The (interpreter, ABI) pairs a CPython of this version installs, best first, as packaging (and pip) rank
    them: cp311-cp311, then cp311-abi3 ... cp32-abi3, then cp311-none, then py3x-none."""
    from packaging import tags

    ranked = [*tags.cpython_tags(python, platforms=["any"]),
              *tags.compatible_tags(python, f"cp{python[0]}{python[1]}", platforms=["any"])]
    return list(dict.fromkeys((tag.interpreter, tag.abi) for tag in ranked))


def _python_rank(wheel: IndexFile, ranked: list[tuple[str, str]]) -> int | None:
    try:
        found = [ranked.index((t.interpreter, t.abi)) for t in parse_wheel_filename(wheel.filename)[3]
                 if (t.interpreter, t.abi) in ranked]
    except InvalidWheelFilename:
        return None
    return min(found) if found else None


def preferred(wheels: list[IndexFile], platforms: tuple[str, ...],
              python: tuple[int, int] | None = None) -> IndexFile | None:
    """The wheel a target installs: by its platforms in order of preference (as its installer ranks them; other
    levels of its families after them), and among wheels carrying the same one, the build made for this target's
    platforms only (uv ships, for one arch, a manylinux-only glibc build beside a manylinux+musllinux static one:
    a glibc root's installer takes the former, a musl root the latter).  Given the target's CPython, only wheels it
    installs count (an extension wheel is built for one interpreter: cp311), and among them the best-ranked tag."""
    if python is not None:
        ranked = python_tags(python)
        ranks = {w.filename: _python_rank(w, ranked) for w in wheels}
        wheels = sorted((w for w in wheels if ranks[w.filename] is not None), key=lambda w: ranks[w.filename])
    platforms = with_other_levels(platforms, wheels)
    for platform in platforms:
        carrying = [f for f in wheels if platform in f.platforms]
        if python is None:
            carrying.sort(key=lambda f: f.filename)
        if carrying:
            return min(carrying, key=lambda f: len(f.platforms - set(platforms)))
    return None


def choose_file(files: list[IndexFile], version: str, platforms: tuple[str, ...], project: str,
                python: tuple[int, int] | None = None) -> IndexFile:
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
    chosen = preferred(same_version, platforms, python)
    if chosen is not None:
        return chosen
    offered = sorted({p for f in same_version for p in f.platforms if "linux" in p})
    listed = ", ".join(offered) if len(offered) <= 6 else f"{len(offered)} other Linux platforms"
    for_python = f" and CPython {python[0]}.{python[1]}" if python is not None and preferred(same_version, platforms) \
        else ""
    raise NoBinaryForTarget(
        f"no release ships for this target: {project} {wanted} has no wheel for platforms {', '.join(platforms)}"
        f"{for_python} (it has {listed})",
        fix="choose another version or arch, or pass a local build with --binary",
    )


__all__ = ["IndexFile", "KIND", "choose_file", "default_index_url", "download_name", "fetch", "find_cached",
           "list_files", "open_url", "preferred", "read_chunks", "require_http", "require_http_option",
           "wheel_platforms", "with_other_levels"]
