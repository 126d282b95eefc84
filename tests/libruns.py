"""Running the no-code suite (and a project's own test files) as a user runs it, and reading its -rA summary:
shared by the native-library self-tests."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def run_pytest(tmp_path: Path, cache, *args: str) -> tuple[int, str]:
    done = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rA", *args,
                           "--cache-dir", str(cache.root)], cwd=tmp_path, capture_output=True, text=True, timeout=1200)
    return done.returncode, done.stdout + done.stderr


def suite(tmp_path: Path, cache, *args: str) -> tuple[int, str]:
    """The no-code suite, with any test files given among `args`."""
    return run_pytest(tmp_path, cache, *args, "--pyargs", "archsmoke.generic")


def outcome(output: str, test: str, placement: str) -> str:
    """What -rA's summary says of one test on one placement: PASSED, FAILED, ..., or absent."""
    for line in output.splitlines():
        word, _, rest = line.partition(" ")
        if rest.split(" ", 1)[0].endswith(f"::{test}[{placement}]"):
            return word
    return "absent"
