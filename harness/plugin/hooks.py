"""The plugin's pytest hooks: markers, per-arch parametrization, readable failures, xdist grouping."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest

from ..placement import Placement
from ..errors import ConfigError, HarnessError, NoBinaryForTarget, ReleaseDefect, TargetError
from .options import check_output_paths, given
from .state import active, session_state

_HARNESS_DIR = str(Path(__file__).resolve().parent.parent)


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config, args: list[str]) -> None:
    from .argv import restart_with_joined_options
    from .options import FLAGS

    restart_with_joined_options(early_config, args, FLAGS)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "only_arch(*names): run this test only on the named arches")
    config.addinivalue_line("markers", "skip_arch(*names, reason=...): skip this test on the named arches")
    config.addinivalue_line("markers", "native_libraries: tests native libraries a runtime loads (deselected in a "
                                       "run whose builds can hold none)")
    check_output_paths(config)
    if given(config):
        session_state(config, at_configure=True)  # bad options are a usage error before anything runs


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "target_placement" not in metafunc.fixturenames:
        return
    state = session_state(metafunc.config)
    placements = list(state.placements)
    only = metafunc.definition.get_closest_marker("only_arch")
    if only:
        wanted = {state.catalog.get(name).name for name in only.args}
        placements = [p for p in placements if p.target.name in wanted]
    metafunc.parametrize("target_placement", placements, ids=[p.id for p in placements], indirect=True,
                         scope="session")


def placement_of(item: pytest.Item) -> Placement | None:
    callspec = getattr(item, "callspec", None)
    return callspec.params.get("target_placement") if callspec else None


def _arch_of(item: pytest.Item) -> str | None:
    placement = placement_of(item)
    return placement.target.name if placement else None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if given(config) and not session_state(config).may_test_libraries:
        dropped = [item for item in items if item.get_closest_marker("native_libraries")]
        if dropped:
            config.hook.pytest_deselected(items=dropped)
            items[:] = [item for item in items if item not in dropped]
    for item in items:
        arch = _arch_of(item)
        marker = item.get_closest_marker("skip_arch") if arch else None
        if marker and arch in {session_state(config).catalog.get(n).name for n in marker.args}:
            item.add_marker(pytest.mark.skip(reason=marker.kwargs.get("reason", "skipped on this arch")))
    if hasattr(config, "workerinput") and active(config) is not None:
        from .xdist import record_placements

        record_placements(config, {item.nodeid: placement.id for item in items if (placement := placement_of(item))})


@pytest.hookimpl(optionalhook=True, tryfirst=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    state = active(config)
    if state is None or config.getvalue("dist") not in ("load", "loadgroup"):
        return None
    from .xdist import TargetScheduling, placements_dir

    return TargetScheduling(config, log, [p.id for p in state.placements], placements_dir(config))


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node) -> None:
    """xdist's controller, for each worker: where to say which placement each of its tests has."""
    if active(node.config) is not None:
        from .xdist import PLACEMENTS_DIR, placements_dir

        node.workerinput[PLACEMENTS_DIR] = str(placements_dir(node.config))


@contextlib.contextmanager
def harness_errors():
    """For fixtures: turn archsmoke's errors into a clean failure (this arch) or a clean stop (bad input)."""
    try:
        yield
    except HarnessError as error:
        failure = error
    else:
        return
    try:
        _fail_on_harness_error(failure)
    except BaseException as outcome:
        # pytest's fail/skip/exit, shown alone: raised from a fixture's `with`, it would otherwise carry the error
        # as its context, and the report would say it twice ("During handling of the above exception ...").
        raise outcome from None


def _fail_on_harness_error(error: HarnessError) -> None:
    if isinstance(error, NoBinaryForTarget):
        pytest.skip(f"archsmoke: {error.problem}")
    if isinstance(error, (TargetError, ReleaseDefect)):
        # This target misbehaved (install failed, command hung), or the release is not what its label says for
        # it: its tests error, other arches go on.
        pytest.fail(f"archsmoke: {error}", pytrace=False)
    # Wrong inputs (bad version, corrupt download, missing host tool) would fail every test the
    # same way: stop the run once, with the message and that error's exit code (bad input: pytest's 4).
    pytest.exit(f"archsmoke: {error}", returncode=4 if isinstance(error, ConfigError) else error.exit_code)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """A command that failed in a target (or any archsmoke error in a test) is reported as what ran where and
    what it said, not a traceback."""
    report = yield
    placement = placement_of(item)
    state = active(item.config)
    if report.failed and placement and state is not None:
        state.failed_placements.add(placement.id)
    excinfo = call.excinfo
    if excinfo is not None and excinfo.errisinstance(HarnessError) and report.failed:
        caller = next((entry for entry in reversed(excinfo.traceback)
                       if not str(entry.path).startswith(_HARNESS_DIR)), None)
        where = f"{caller.path}:{caller.lineno + 1}: {caller.statement}".strip() if caller else ""
        report.longrepr = f"{where}\n{excinfo.value}"
    return report
