"""The plugin's fixtures.  Targets are session-scoped, one per arch; the binary fixtures follow the product
each suite declares (``archsmoke_product``), so several products' suites share one started target per arch."""

from __future__ import annotations

import contextlib
import shlex

import pytest

from ..binary import Product, ReportedVersion
from ..install import InstalledBinary
from ..placement import Placement
from .hooks import harness_errors
from .packages import InstalledNodePackage, InstalledPythonPackage
from .reporting import logs_dir
from .session import Archsmoke
from .state import session_state


@pytest.fixture(scope="session")
def archsmoke(request: pytest.FixtureRequest) -> Archsmoke:
    """The run: chosen targets, the cache, the binaries under test."""
    return session_state(request.config)


@pytest.fixture(scope="session")
def target_placement(request: pytest.FixtureRequest) -> Placement:
    """The target on its tier (``.target``, ``.tier``, ``.id``); the test id carries its id: ppc64le, ppc64le-vm."""
    return request.param


@pytest.fixture(scope="session")
def arch_target(target_placement: Placement):
    """The Target (from vms/ARCH.yaml)."""
    return target_placement.target


@pytest.fixture(scope="session")
def target(archsmoke: Archsmoke, target_placement: Placement, request: pytest.FixtureRequest):
    """The started target: run(cmd, timeout=, env=, cwd=, stdin=), put(host_path, path), get(path, host_path)."""
    stack = contextlib.ExitStack()
    with harness_errors():
        runner = stack.enter_context(archsmoke.started(target_placement))
    with stack:
        yield runner
        logs = logs_dir(request.config)
        if logs is not None and target_placement.id in archsmoke.failed_placements:
            logs.mkdir(parents=True, exist_ok=True)
            (logs / f"archsmoke-{target_placement.id}.log").write_text(runner.transcript())


@pytest.fixture(scope="session")
def target_host(target):
    """A pytest-testinfra Host: testinfra's own podman/docker backend for containers, archsmoke's otherwise."""
    url = getattr(target, "testinfra_url", None)
    if url:
        import testinfra

        return testinfra.get_host(url)
    from .testinfra_backend import host_for

    return host_for(target)


@pytest.fixture
def target_tmp_path(target, request: pytest.FixtureRequest) -> str:
    """A fresh, empty directory in the target for one test (like pytest's tmp_path, on the target)."""
    path = target.own_path(f"/tmp/archsmoke-tests/{request.node.originalname}")
    target.run(f"rm -rf {shlex.quote(path)} && mkdir -p {shlex.quote(path)}").check()
    return path


@pytest.fixture(scope="session")
def archsmoke_product(archsmoke: Archsmoke) -> Product:
    """The product under test.  Override it in a suite's conftest; else --product, else what --binary holds."""
    with harness_errors():
        return archsmoke.default_product()


@pytest.fixture
def binary_under_test(archsmoke: Archsmoke, arch_target, archsmoke_product: Product):
    """The build of the product chosen for this arch: checked against the target, not yet installed."""
    with harness_errors():
        return archsmoke.binary_for(arch_target, archsmoke_product)


@pytest.fixture
def installed_binary(archsmoke: Archsmoke, target, binary_under_test, archsmoke_product: Product) -> InstalledBinary:
    """That build installed in the started target (once per target and product)."""
    with harness_errors():
        return archsmoke.installed(target, archsmoke_product)


@pytest.fixture
def reported_version(archsmoke: Archsmoke, target, installed_binary: InstalledBinary) -> ReportedVersion:
    """What `main --version` (the product's version_args) says in the target, checked to run and parse
    (asked once per target and product)."""
    return archsmoke.reported_version(target, installed_binary)


@pytest.fixture
def installed_python_package(target, installed_binary: InstalledBinary) -> InstalledPythonPackage:
    """The wheel under test installed by the target's pip into a venv: `.python(*args)` runs its interpreter
    there (`.venv`, `.interpreter`); a project tests its extension modules with it in a few lines."""
    if installed_binary.python is None:
        pytest.skip(f"the build under test ({installed_binary.binary.origin}) was not installed into a Python "
                    f"venv on {target.where}: not a wheel, or a root without Python")
    return InstalledPythonPackage(target, installed_binary)


@pytest.fixture
def installed_node_package(target, installed_binary: InstalledBinary) -> InstalledNodePackage:
    """The npm package under test placed in the target's node_modules: `.node(*args)` runs Node.js there from the
    project directory, so `require(NAME)` loads it as a user's code does."""
    if installed_binary.node is None:
        pytest.skip(f"the build under test ({installed_binary.binary.origin}) is no npm package of addons, or "
                    f"{target.where} has no Node.js")
    return InstalledNodePackage(target, installed_binary)
