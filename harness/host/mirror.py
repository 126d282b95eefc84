"""Which Debian mirror root filesystems are built from.

mmdebstrap is always given one explicit ``deb URL SUITE main`` line: its
default adds the security and updates suites, whose foreign-arch indexes are
not always consistent.  The URL comes from ``--debian-mirror`` /
``$ARCHSMOKE_DEBIAN_MIRROR``, else from this host's own apt sources.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from ..errors import HostSetupError

ENV_MIRROR = "ARCHSMOKE_DEBIAN_MIRROR"


def _sources_entries(root: Path) -> list[tuple[str, list[str]]]:
    """(uri, suites) for every enabled ``deb`` entry in one-line and deb822 sources."""
    entries: list[tuple[str, list[str]]] = []
    apt = root / "etc/apt"
    for path in [apt / "sources.list", *sorted((apt / "sources.list.d").glob("*.list"))]:
        if not path.is_file():
            continue
        for line in path.read_text(errors="replace").splitlines():
            words = re.sub(r"\[[^]]*\]", "", line.split("#", 1)[0]).split()
            if len(words) >= 3 and words[0] == "deb":
                entries.append((words[1], [words[2]]))
    for path in sorted((apt / "sources.list.d").glob("*.sources")):
        for stanza in re.split(r"\n\s*\n", path.read_text(errors="replace")):
            fields: dict[str, str] = {}
            for line in stanza.splitlines():
                if line.startswith("#") or ":" not in line:
                    continue
                name, value = line.split(":", 1)
                fields[name.strip().lower()] = value.strip()
            if "deb" in fields.get("types", "").split() and fields.get("enabled", "yes") != "no":
                for uri in fields.get("uris", "").split():
                    entries.append((uri, fields.get("suites", "").split()))
    return entries


def debian_mirror(suite: str, explicit: str | None = None, host_root: Path = Path("/")) -> str:
    url = explicit or os.environ.get(ENV_MIRROR)
    if url:
        return url.rstrip("/")
    entries = [(uri, suites) for uri, suites in _sources_entries(host_root) if uri.startswith(("http://", "https://"))]
    for uri, suites in entries:
        if suite in suites:
            return uri.rstrip("/")
    # One Debian archive serves every suite: a host on bookworm builds a sid root from its own mirror.
    for uri, suites in entries:
        if uri.rstrip("/").endswith("/debian") and not any(s.endswith("-security") for s in suites):
            return uri.rstrip("/")
    raise HostSetupError(
        f"no Debian mirror for suite {suite!r} is configured on this host",
        fix=f"pass --debian-mirror URL (or set {ENV_MIRROR}) to a Debian archive that carries {suite}",
    )


def sources_line(mirror: str, suite: str) -> str:
    return f"deb {mirror} {suite} main"
