"""What a project's own tests get for a package installed in a target: its runtime, ready to run."""

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


@dataclass(frozen=True)
class InstalledNodePackage:
    """An npm package of addons placed where `npm install` puts it: `.node("-e", "require('pkg').run()")` runs
    Node.js in the target from the project directory holding node_modules/ (so `require(name)` finds it)."""

    target: Runner
    installed: InstalledBinary

    @property
    def package_dir(self) -> str:
        assert self.installed.package_dir is not None
        return self.installed.package_dir

    @property
    def project_dir(self) -> str:
        return self.package_dir.split("/node_modules/", 1)[0]

    def node(self, *args: str, timeout: float | None = None, env: dict[str, str] | None = None,
             stdin: bytes | None = None):
        assert self.installed.node is not None
        return self.target.run([self.installed.node, *args], timeout=timeout,
                               env={**self.installed.env, **(env or {})}, cwd=self.project_dir, stdin=stdin)
