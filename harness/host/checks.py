"""One line of `python -m archsmoke doctor`: what was checked, whether it is there, and the command that fixes it.
The doctor command gathers the checks of the root filesystems and of every tier (each tier owns its own)."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass

from .tools import find_tool


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str | None = None


def tool_check(name: str, package: str) -> Check:
    path = find_tool(name)
    return Check(name, path is not None, path or "not found", None if path else f"apt-get install {package}")


def works(argv: list[str]) -> tuple[bool, str]:
    """Whether a command exits 0 here, and what it said on stderr."""
    try:
        result = subprocess.run(argv, capture_output=True, text=True, timeout=20)
    except OSError as exc:
        return False, exc.strerror or str(exc)
    return result.returncode == 0, result.stderr.strip()
