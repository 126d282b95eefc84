"""Fixtures of the ruff smoke suite: the product it tests and ruff in the target."""

from __future__ import annotations

from pathlib import Path

import pytest

from archsmoke import RUFF, harness_errors


# Defects of ruff's published builds that this suite found, expected to fail until ruff fixes them.
# Strict: when a build stops failing, its tests XPASS and fail, and the entry must go.
# (riscv64's entry went when the glibc roots got the manylinux libraries: ruff's riscv64 wheels link
# libatomic.so.1, outside the policy, but Debian's riscv64 libstdc++6, which the policy lets a wheel assume,
# depends on libatomic1, so every system that meets the policy has it, and the builds run.)
KNOWN_DEFECTS: dict[str, str] = {}


def pytest_collection_modifyitems(items):
    for item in items:
        callspec = getattr(item, "callspec", None)
        placement = callspec.params.get("target_placement") if callspec else None
        arch = placement.target.name if placement else None
        if arch in KNOWN_DEFECTS and item.path.parent == Path(__file__).parent:
            item.add_marker(pytest.mark.xfail(reason=KNOWN_DEFECTS[arch], strict=True))


@pytest.fixture(scope="session")
def archsmoke_product():
    return RUFF


@pytest.fixture(scope="session")
def ruff(archsmoke, target, arch_target):
    """ruff installed in the target: ruff.command("check", ...), ruff.env."""
    with harness_errors():
        archsmoke.binary_for(arch_target, RUFF)
        return archsmoke.installed(target, RUFF)


@pytest.fixture
def project(target_tmp_path) -> str:
    """A fresh project directory in the target for one test."""
    return target_tmp_path


class Ruff:
    """Runs the ruff under test in the target; returns the result without checking the exit code
    (ruff's exit code is what the tests assert)."""

    def __init__(self, target, installed):
        self.target, self.installed = target, installed

    def __call__(self, command: str, *args: str, cwd: str | None = None, stdin: bytes | None = None):
        return self.target.run([self.installed.path, command, "--no-cache", *args], cwd=cwd, stdin=stdin,
                               env=self.installed.env)

    def write(self, path: str, text: str) -> None:
        self.target.run(["sh", "-c", 'cat > "$0"', path], stdin=text.encode()).check()

    def read(self, path: str) -> str:
        return self.target.run(["cat", path]).check().stdout


@pytest.fixture
def run_ruff(target, ruff) -> Ruff:
    return Ruff(target, ruff)
