"""What a project's own tests get for a package installed in a target: its interpreter, ready to run."""

from __future__ import annotations

from dataclasses import dataclass

from ..install import InstalledBinary
from ..tiers import Runner


@dataclass(frozen=True)
class InstalledPythonPackage:
    """A wheel installed by the target's pip into a venv: `.python("-c", "import mypkg; ...")` runs the venv's
    interpreter there (at the CPU floor where the target runs the build at it)."""

    target: Runner
    installed: InstalledBinary

    @property
    def venv(self) -> str:
        return self.installed.bin_dir.rsplit("/", 1)[0]

    @property
    def interpreter(self) -> str:
        assert self.installed.python is not None
        return self.installed.python

    def python(self, *args: str, timeout: float | None = None, env: dict[str, str] | None = None,
               cwd: str | None = None, stdin: bytes | None = None):
        return self.target.run([self.interpreter, *args], timeout=timeout, env={**self.installed.env, **(env or {})},
                               cwd=cwd, stdin=stdin)
