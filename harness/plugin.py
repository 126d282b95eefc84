"""The pytest plugin: options, per-arch parametrization, and fixtures for started targets.

Fixtures (all session-scoped, one instance per arch, torn down when the arch changes):

``arch_target``  the Target (parametrized; the test id carries its name)
``target``       the started Runner: ``target.run(...)``, ``put``, ``get``
``target_host``  the same target as a pytest-testinfra Host
``uv_binary``    the BinaryUnderTest chosen for the arch (checked, not yet installed)
``uv``           that binary installed in the started target (InstalledBinary)
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import pytest

from .errors import HarnessError, NoBinaryForTarget, TargetError
from .runners.base import CommandFailed
from .session import Archsmoke, Options
from .signals import terminate_as_interrupt

_STATE = pytest.StashKey[Archsmoke]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("archsmoke", "archsmoke: smoke tests of cross-built binaries on emulated targets")
    group.addoption("--arch", action="append", default=[], metavar="ARCH",
                    help="target to test on (repeatable or comma-separated; 'all' for every target in vms/). "
                         "Default: the arches of the --binary files given, else all.")
    group.addoption("--binary", action="append", default=[], type=Path, metavar="PATH",
                    help="binary under test: a uv executable, a uv-*.whl or a uv-<triple>.tar.gz (repeatable: "
                         "each target takes the one built for it)")
    group.addoption("--uv-version", metavar="VERSION", default=None,
                    help="download this uv release's wheel for each target from the package index "
                         "('latest', the default when no --binary is given, resolves to the newest)")
    group.addoption("--libc", default=None, metavar="LIBC",
                    help="glibc or musl: test each chosen arch's target with that C library "
                         "(--arch ppc64le --libc musl is ppc64le-musl; --libc musl alone: every musl target)")
    group.addoption("--runner", default="qemu-user", metavar="NAME",
                    help="target tier: qemu-user (chroot through binfmt_misc) or container (default: qemu-user)")
    group.addoption("--engine", default=None, metavar="NAME",
                    help="container tier: podman or docker (default: podman if it answers, else docker)")
    group.addoption("--image-source", default="rootfs", metavar="SOURCE",
                    help="container tier: 'rootfs' imports archsmoke's own root filesystems as images (no registry "
                         "needed); 'pinned' pulls each target's digest-pinned image from vms/ (default: rootfs)")
    group.addoption("--cpu", default=None, metavar="MODEL",
                    help="QEMU CPU model for every emulated target, instead of each target's floor from vms/")
    group.addoption("--cache-dir", dest="archsmoke_cache_dir", type=Path, default=None, metavar="DIR",
                    help="cache for root filesystems and downloads (default: $ARCHSMOKE_CACHE_DIR or "
                         "$XDG_CACHE_HOME/archsmoke)")
    group.addoption("--targets-dir", type=Path, default=None, metavar="DIR",
                    help="directory of target definitions (default: archsmoke's vms/)")
    group.addoption("--debian-mirror", default=None, metavar="URL",
                    help="Debian archive to build root filesystems from (default: $ARCHSMOKE_DEBIAN_MIRROR, "
                         "else this host's apt sources)")
    group.addoption("--archsmoke-stats", type=Path, default=None, metavar="FILE",
                    help="write per-target timings (commands, their own seconds, target wall seconds) as JSON "
                         "(pytest-xdist workers add their id to the name)")
    group.addoption("--archsmoke-logs", type=Path, default=None, metavar="DIR",
                    help="where to keep each failing target's log (every command it ran, with its output); "
                         "default: beside the --junitxml file, if any")
    group.addoption("--index-url", default=None, metavar="URL",
                    help="package index (PEP 503) to download uv from (default: $ARCHSMOKE_INDEX_URL, else pip's)")


def pytest_configure(config: pytest.Config) -> None:
    terminate_as_interrupt()
    config.addinivalue_line("markers", "only_arch(*names): run this test only on the named arches")
    config.addinivalue_line("markers", "skip_arch(*names, reason=...): skip this test on the named arches")
    options = Options(
        arches=config.getoption("arch"),
        binaries=config.getoption("binary"),
        uv_version=config.getoption("uv_version"),
        libc=config.getoption("libc"),
        runner=config.getoption("runner"),
        engine=config.getoption("engine"),
        image_source=config.getoption("image_source"),
        cpu=config.getoption("cpu"),
        cache_dir=config.getoption("archsmoke_cache_dir"),
        targets_dir=config.getoption("targets_dir"),
        debian_mirror=config.getoption("debian_mirror"),
        index_url=config.getoption("index_url"),
    )
    try:
        config.stash[_STATE] = Archsmoke(options, sink=_terminal_sink(config))
    except HarnessError as error:
        raise pytest.UsageError(f"archsmoke: {error}") from None


def _terminal_sink(config: pytest.Config):
    def write(line: str) -> None:
        reporter = config.pluginmanager.get_plugin("terminalreporter")
        capture = config.pluginmanager.get_plugin("capturemanager")
        if reporter is not None and capture is not None:
            with capture.global_and_fixture_disabled():
                reporter.write_line(line)
        elif reporter is not None:
            reporter.write_line(line)
        else:
            import sys

            print(line, file=sys.stderr, flush=True)

    return write


def pytest_report_header(config: pytest.Config) -> list[str]:
    state = config.stash.get(_STATE, None)
    if state is None:
        return []
    source = (", ".join(b.origin for b in state.local_binaries) if state.local_binaries
              else f"uv {state.options.uv_version or 'latest'} from the package index")
    runner = state.options.runner
    if runner == "container":
        runner += f" (engine {state.options.engine or 'podman, else docker'}; images: {state.options.image_source})"
    return [f"archsmoke: arches {', '.join(t.name for t in state.targets)}; runner {runner}; "
            f"binary {source}; cache {state.cache.root}"]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "arch_target" not in metafunc.fixturenames:
        return
    state = metafunc.config.stash[_STATE]
    targets = list(state.targets)
    only = metafunc.definition.get_closest_marker("only_arch")
    if only:
        wanted = {state.catalog.get(name).name for name in only.args}
        targets = [t for t in targets if t.name in wanted]
    metafunc.parametrize("arch_target", targets, ids=[t.name for t in targets], indirect=True, scope="session")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    state = config.stash[_STATE]
    for item in items:
        callspec = getattr(item, "callspec", None)
        if not callspec or "arch_target" not in callspec.params:
            continue
        # With pytest-xdist's --dist loadgroup, each arch's tests stay on one worker: one target per arch.
        item.add_marker(pytest.mark.xdist_group(name=callspec.params["arch_target"].name))
        marker = item.get_closest_marker("skip_arch")
        if marker:
            names = {state.catalog.get(n).name for n in marker.args}
            if callspec.params["arch_target"].name in names:
                item.add_marker(pytest.mark.skip(reason=marker.kwargs.get("reason", "skipped on this arch")))


@contextlib.contextmanager
def harness_errors():
    """For fixtures: turn archsmoke's errors into a clean failure (this arch) or a clean stop (bad input)."""
    try:
        yield
    except HarnessError as error:
        _fail_on_harness_error(error)


def _fail_on_harness_error(error: HarnessError) -> None:
    if isinstance(error, NoBinaryForTarget):
        pytest.skip(f"archsmoke: {error.problem}")
    if isinstance(error, TargetError):
        # This target misbehaved (install failed, command hung): its tests error, other arches go on.
        pytest.fail(f"archsmoke: {error}", pytrace=False)
    # Wrong inputs (bad version, corrupt download, missing host tool) would fail every test the
    # same way: stop the run once, with the message and that error's exit code.
    pytest.exit(f"archsmoke: {error}", returncode=error.exit_code)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """A command that failed in a target is reported as what ran where and what it said, not a traceback."""
    report = yield
    callspec = getattr(item, "callspec", None)
    if report.failed and callspec and "arch_target" in callspec.params:
        item.config.stash[_STATE].failed_targets.add(callspec.params["arch_target"].name)
    excinfo = call.excinfo
    if excinfo is not None and excinfo.errisinstance(CommandFailed) and report.failed:
        harness_dir = str(Path(__file__).parent)
        caller = next((entry for entry in reversed(excinfo.traceback)
                       if not str(entry.path).startswith(harness_dir)), None)
        where = f"{caller.path}:{caller.lineno + 1}: {caller.statement}".strip() if caller else ""
        report.longrepr = f"{where}\n{excinfo.value}"
    return report


@pytest.fixture(scope="session")
def archsmoke(request: pytest.FixtureRequest) -> Archsmoke:
    return request.config.stash[_STATE]


@pytest.fixture(scope="session")
def arch_target(request: pytest.FixtureRequest):
    return request.param


@pytest.fixture(scope="session")
def target(archsmoke: Archsmoke, arch_target, request: pytest.FixtureRequest):
    stack = contextlib.ExitStack()
    with harness_errors():
        runner = stack.enter_context(archsmoke.started(arch_target))
    with stack:
        yield runner
        logs = _logs_dir(request.config)
        if logs is not None and arch_target.name in archsmoke.failed_targets:
            logs.mkdir(parents=True, exist_ok=True)
            (logs / f"archsmoke-{arch_target.name}.log").write_text(runner.transcript())


def _logs_dir(config: pytest.Config) -> Path | None:
    explicit = config.getoption("archsmoke_logs")
    junit = getattr(config.option, "xmlpath", None)
    return explicit or (Path(junit).parent if junit else None)


@pytest.fixture(scope="session")
def target_host(target):
    """A pytest-testinfra Host: testinfra's own podman/docker backend for containers, archsmoke's otherwise."""
    url = getattr(target, "testinfra_url", None)
    if url:
        import testinfra

        return testinfra.get_host(url)
    from .testinfra_backend import host_for

    return host_for(target)


@pytest.fixture(scope="session")
def uv_binary(archsmoke: Archsmoke, arch_target):
    with harness_errors():
        return archsmoke.binary_for(arch_target)


@pytest.fixture(scope="session")
def uv(archsmoke: Archsmoke, target, uv_binary):
    from .binary import install

    with harness_errors():
        return install(uv_binary, target)


@pytest.fixture(autouse=True)
def _archsmoke_properties(request: pytest.FixtureRequest) -> None:
    """Attach arch, runner, binary and rootfs identity to every per-arch test (JUnit properties)."""
    yield
    callspec = getattr(request.node, "callspec", None)
    if not callspec or "arch_target" not in callspec.params:
        return
    record = request.config.stash[_STATE].records[callspec.params["arch_target"].name]
    for name, value in record.properties().items():
        request.node.user_properties.append((name, value))


def pytest_sessionfinish(session: pytest.Session) -> None:
    config = session.config
    path = config.getoption("archsmoke_stats")
    state = config.stash.get(_STATE, None)
    if path is None or state is None:
        return
    worker = getattr(config, "workerinput", {}).get("workerid")
    if worker:
        path = path.with_name(f"{path.name}.{worker}")
    rows = {name: vars(record) for name, record in state.records.items() if record.commands}
    path.write_text(json.dumps(rows, indent=2) + "\n")


def pytest_terminal_summary(terminalreporter, exitstatus, config: pytest.Config) -> None:
    state = config.stash.get(_STATE, None)
    if state is None:
        return
    used = [r for r in state.records.values() if r.rootfs_key or r.binary_origin]
    if not used:
        return
    terminalreporter.section("archsmoke targets")
    for record in used:
        terminalreporter.write_line(
            f"{record.target}: {record.runner}, {record.root or 'rootfs ' + str(record.rootfs_key)}, "
            f"{record.qemu or 'native'}; "
            f"binary {record.binary_origin or '-'} sha256 {(record.binary_sha256 or '-')[:16]}"
            + (f"; reports {record.reported_version}" if record.reported_version else ""))
