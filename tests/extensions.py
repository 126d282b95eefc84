"""archsmoke extended by a test: a tier or an origin written as a module of its own, imported in the test's process
(which registers it) and loaded with `-p NAME` by the pytest runs the test starts, found through PYTHONPATH."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType


def write_and_import(folder: Path, name: str, text: str) -> ModuleType:
    folder.mkdir(exist_ok=True)
    (folder / f"{name}.py").write_text(text)
    spec = importlib.util.spec_from_file_location(name, folder / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def pytest_with(folder: Path, name: str, args: list[str], cwd: Path,
                env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """pytest with the extension loaded as a plugin (before archsmoke's own options are added)."""
    path = os.pathsep.join(filter(None, (str(folder), os.environ.get("PYTHONPATH"))))
    return subprocess.run([sys.executable, "-m", "pytest", "-p", name, "-p", "no:cacheprovider", "-q", "-rA", *args],
                          cwd=cwd, env={**os.environ, "PYTHONPATH": path, **(env or {})}, capture_output=True,
                          text=True, timeout=900)
