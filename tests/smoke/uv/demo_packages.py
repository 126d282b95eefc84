"""The small pure-Python projects the smoke suite installs, built on the host into wheels and an sdist.

They are built with a real build backend (flit_core, fetched once from the
package index and cached), so the sdist is one uv must really build, in
isolation, with that backend served by the session's own index.  The built
files are cached under a hash of their sources.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from archsmoke.binary import index as download
from archsmoke.cache import Cache, content_key, files_verifier, hash_listing
from archsmoke.errors import ImageBuildError
from archsmoke.progress import Progress, Sink

KIND = "packages"
BACKEND = "flit_core"
BACKEND_VERSION = "3.9.0"
FORMAT = 2


@dataclass(frozen=True)
class DemoProject:
    name: str
    version: str
    module: str
    dependencies: tuple[str, ...] = ()
    scripts: dict[str, str] = field(default_factory=dict)
    sdist_only: bool = False

    @property
    def import_name(self) -> str:
        return self.name.replace("-", "_")

    def pyproject(self) -> str:
        deps = ", ".join(f'"{d}"' for d in self.dependencies)
        lines = [
            "[build-system]",
            f'requires = ["{BACKEND}>=3.4,<4"]',
            'build-backend = "flit_core.buildapi"',
            "",
            "[project]",
            f'name = "{self.name}"',
            f'version = "{self.version}"',
            f'description = "archsmoke demo project {self.name}"',
            f"dependencies = [{deps}]",
        ]
        if self.scripts:
            lines += ["", "[project.scripts]"] + [f'{k} = "{v}"' for k, v in self.scripts.items()]
        return "\n".join(lines) + "\n"


GREET_SOURCE = '''\
"""Greets, and says which machine it runs on."""
import platform


def hello(name="world"):
    return f"hello {name} from {platform.machine()} (greet VERSION)"
'''

APP_SOURCE = '''\
"""A console script with a dependency."""
import sys

import archsmoke_greet


def main():
    print("archsmoke-app:", archsmoke_greet.hello(sys.argv[1] if len(sys.argv) > 1 else "app"))
'''

SOURCE_SOURCE = '''\
"""Only published as an sdist: installing it means building it."""
import archsmoke_greet

BUILT_FROM_SDIST = True


def hello():
    return archsmoke_greet.hello("sdist")
'''

# Runs archsmoke-app's console entry point in a venv's Python: prints its greeting and machine.
APP_RUNS = "import archsmoke_app, sys; sys.argv = ['x', 'test']; archsmoke_app.main()"

PROJECTS = (
    DemoProject("archsmoke-greet", "0.9.0", GREET_SOURCE.replace("VERSION", "0.9.0")),
    DemoProject("archsmoke-greet", "1.0.0", GREET_SOURCE.replace("VERSION", "1.0.0")),
    DemoProject("archsmoke-app", "1.0.0", APP_SOURCE, ("archsmoke-greet>=1.0",),
                {"archsmoke-app": "archsmoke_app:main"}),
    DemoProject("archsmoke-source", "1.0.0", SOURCE_SOURCE, ("archsmoke-greet",), sdist_only=True),
)


def recipe() -> dict:
    return {
        "format": FORMAT,
        "backend": f"{BACKEND}=={BACKEND_VERSION}",
        "projects": [(p.pyproject(), p.module, p.sdist_only) for p in PROJECTS],
    }


def _fetch_backend(cache: Cache, index_url: str | None, sink: Sink | None) -> Path:
    name = f"{BACKEND}-{BACKEND_VERSION}-py3-none-any.whl"
    cached = download.find_cached(cache, name)
    if cached:
        return cached
    files = download.list_files(index_url or download.default_index_url(), BACKEND)
    chosen = download.choose_file(files, BACKEND_VERSION, ("any",), project=BACKEND)
    return download.fetch(cache, chosen, sink)


def _build(project: DemoProject, backend: Path, out: Path, work: Path) -> None:
    source = work / f"{project.name}-{project.version}"
    (source / project.import_name).mkdir(parents=True)
    (source / project.import_name / "__init__.py").write_text(project.module)
    (source / "pyproject.toml").write_text(project.pyproject())
    hooks = ["build_sdist"] if project.sdist_only else ["build_wheel"]
    for hook in hooks:
        command = [sys.executable, "-c", f"import sys, flit_core.buildapi as b; print(b.{hook}(sys.argv[1]))", str(out)]
        result = subprocess.run(command, cwd=source, capture_output=True, text=True, timeout=120,
                                env={**os.environ, "PYTHONPATH": str(backend), "SOURCE_DATE_EPOCH": "1700000000"})
        if result.returncode != 0:
            raise ImageBuildError(f"building demo project {project.name} failed: {result.stderr.strip()[-600:]}")


def cached_files(cache: Cache, recipe: dict, write: Callable[[Path], None]) -> Path:
    """A cache entry holding one directory of distributions: written by `write` once per recipe, then
    checked by their hashes on every use."""
    def build(staging: Path) -> dict:
        files = staging / "files"
        files.mkdir()
        write(files)
        return {"files": hash_listing(staging, sorted(f"files/{p.name}" for p in files.iterdir()))}

    return cache.ensure(KIND, content_key(recipe), build=build, verify=files_verifier()).path / "files"


def build_demo_packages(cache: Cache, index_url: str | None = None, sink: Sink | None = None) -> Path:
    """A directory of the demo distributions plus the build backend's wheel, built once per recipe."""
    progress = Progress("demo packages", sink)

    def write(files: Path) -> None:
        backend = _fetch_backend(cache, index_url, sink)
        with tempfile.TemporaryDirectory() as work:
            for project in PROJECTS:
                _build(project, backend, files, Path(work))
        shutil.copyfile(backend, files / backend.name)
        progress.say(f"built {len(PROJECTS)} distributions with {BACKEND} {BACKEND_VERSION}")

    return cached_files(cache, recipe(), write)
