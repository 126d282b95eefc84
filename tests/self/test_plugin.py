"""The plugin as other projects meet it: inert where unused, no clash with their packages, clean markers,
and one start per target under pytest-xdist."""

import json
import sys
import textwrap

import pytest

PLAIN_PROJECT = {
    "test_plain.py": """
        def test_arithmetic():
            assert 1 + 1 == 2
    """,
    # Records every process the run starts: a plugin that is inert starts none.
    "conftest.py": """
        import os, subprocess
        _real_init = subprocess.Popen.__init__
        def _recording_init(self, args, *rest, **kwargs):
            with open(os.environ["PROCESS_LOG"], "a") as log:
                log.write(repr(args) + "\\n")
            _real_init(self, args, *rest, **kwargs)
        subprocess.Popen.__init__ = _recording_init
    """,
}

TARGET_TESTS = """
    import pytest

    @pytest.mark.parametrize("n", range(3))
    def test_runs_in_the_target(target, n):
        assert target.run(["true"]).ok
"""


def _write(pytester, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = pytester.path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))


def test_an_unrelated_project_runs_untouched(pytester, monkeypatch):
    log = pytester.path / "processes.log"
    monkeypatch.setenv("PROCESS_LOG", str(log))
    _write(pytester, PLAIN_PROJECT)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    output = result.stdout.str() + result.stderr.str()
    assert result.ret == 0 and "1 passed" in output, output
    # pytest's own "plugins:" line names it; archsmoke itself prints no header and no summary.
    assert not [line for line in output.splitlines() if "archsmoke" in line and not line.startswith("plugins:")], output
    assert not log.exists() or log.read_text() == "", log.read_text()
    helped = pytester.runpytest_subprocess("--help")
    assert helped.ret == 0 and "--arch=ARCH" in helped.stdout.str()


def test_a_project_with_its_own_harness_package(pytester, cache):
    _write(pytester, {
        "harness/__init__.py": "NAME = 'the project of its own'\n",
        "harness/things.py": "VALUE = 42\n",
        "test_own.py": """
            import harness.things

            def test_own_package():
                assert harness.things.VALUE == 42

            def test_archsmoke_beside_it(arch_target):
                assert arch_target.name == "x86_64"
        """,
    })
    # `python -m pytest` puts the project's directory first on sys.path before plugins load.
    result = pytester.run(sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--cache-dir", str(cache.root),
                          "--arch", "x86_64")
    output = result.stdout.str() + result.stderr.str()
    assert result.ret == 0 and "2 passed" in output, output


def test_strict_markers_and_warnings_as_errors_without_xdist(pytester, cache):
    _write(pytester, {"test_target.py": TARGET_TESTS})
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:xdist", "--strict-markers",
                                           "-W", "error", "--cache-dir", str(cache.root), "--arch", "x86_64")
    output = result.stdout.str() + result.stderr.str()
    assert result.ret == 0 and "3 passed" in output, output
    assert "PytestUnknownMarkWarning" not in output


def test_each_target_starts_once_under_xdist(pytester, cache):
    _write(pytester, {"test_target.py": TARGET_TESTS})
    stats = pytester.path / "stats.json"
    arches = ["x86_64", "i386", "s390x-musl"]
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-n", "2", "--cache-dir", str(cache.root),
                                           "--arch", ",".join(arches), "--archsmoke-stats", str(stats))
    output = result.stdout.str() + result.stderr.str()
    assert result.ret == 0 and "9 passed" in output, output
    rows = json.loads(stats.read_text())  # the workers' figures, merged by the controller
    assert not list(pytester.path.glob("stats.json.gw*")), "the workers' parts are merged away"
    assert {arch: row["starts"] for arch, row in rows.items()} == {arch: 1 for arch in arches}, (rows, output)
    assert all(len(row["workers"]) == 1 for row in rows.values()), rows
    assert len({row["workers"][0] for row in rows.values()}) == 2, "both workers should have had work"


def test_without_an_arch_the_emulated_glibc_targets_run(pytester, cache):
    _write(pytester, {"test_target.py": "def test_nothing(arch_target):\n    pass\n"})
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--co", "-q", "--cache-dir", str(cache.root))
    collected = sorted(line.split("[")[1].rstrip("]") for line in result.stdout.lines if "::test_nothing[" in line)
    # Each on qemu-user (its CPU floor); ppc64le and aarch64 also on the VM tier (their kernels' page size).
    assert collected == ["aarch64", "aarch64-vm", "armv7", "ppc64le", "ppc64le-vm", "riscv64", "s390x"], \
        result.stdout.str()


def test_several_tiers_in_one_run_start_each_placement_once_under_xdist(pytester, cache):
    """--runner qemu-user,vm: every target on both tiers, ids naming the tier that is not the default one, each
    (target, tier) started once on one worker, and one report column per (target, tier)."""
    _write(pytester, {"test_target.py": TARGET_TESTS})
    stats, junit = pytester.path / "stats.json", pytester.path / "junit.xml"
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-n", "2", "--cache-dir", str(cache.root),
                                           "--runner", "qemu-user,vm", "--arch", "ppc64le,s390x", "-v",
                                           "--archsmoke-stats", str(stats), f"--junitxml={junit}")
    output = result.stdout.str() + result.stderr.str()
    assert result.ret == 0 and "12 passed" in output, output
    assert "test_runs_in_the_target[ppc64le-vm-0]" in output and "test_runs_in_the_target[s390x-2]" in output, output
    rows = json.loads(stats.read_text())
    assert all(row["placement"] == placement for placement, row in rows.items()), rows
    starts = {placement: row["starts"] for placement, row in rows.items()}
    assert starts == {"ppc64le": 1, "ppc64le-vm": 1, "s390x": 1, "s390x-vm": 1}, (starts, output)
    report = pytester.run(sys.executable, "-m", "archsmoke", "report", str(junit))
    assert "| test | ppc64le | ppc64le (vm) | s390x | s390x (vm) |" in report.stdout.str(), report.stdout.str()
    assert "| `test_target.py::test_runs_in_the_target[0]` | ✅" in report.stdout.str(), report.stdout.str()


MISLEADING_IDS = {
    "conftest.py": """
        import pytest

        @pytest.hookimpl(tryfirst=True)  # parametrizes before archsmoke: its ids come before the placement's
        def pytest_generate_tests(metafunc):
            if "flavour" in metafunc.fixturenames:
                metafunc.parametrize("flavour", ["s390x", "x-ppc64le"])
    """,
    "test_named_like_targets.py": """
        import pytest

        @pytest.mark.parametrize("platform", ["s390x-manylinux", "ppc64le"])
        def test_ids_name_other_targets(target, flavour, platform):
            assert target.run(["true"]).ok
    """,
    # On no placement, though their ids look so: the module goes to one worker, its fixture is set up once.
    "test_own_targets.py": """
        import os
        import pytest

        @pytest.fixture(scope="module")
        def own_setup():
            with open(os.environ["SETUPS_LOG"], "a") as log:
                log.write(os.environ.get("PYTEST_XDIST_WORKER", "none") + "\\n")

        @pytest.mark.parametrize("arch", ["ppc64le", "s390x"])
        def test_starts_its_own(own_setup, arch):
            pass
    """,
}


def test_tests_whose_ids_name_other_targets_still_start_each_target_once_under_xdist(pytester, cache, monkeypatch):
    """test_x[s390x-ppc64le-s390x-manylinux] runs on ppc64le: which part of an id is the placement, the workers
    say from each test's parameters.  (Read from the id, uv's --python-platform tests started an extra target,
    uv installed again, for each of them: 30 a CI run, 2 of them VM boots.)  A test on no placement goes with its
    module, however its id reads."""
    from archsmoke.plugin.xdist import SESSION_PREFIX
    from archsmoke.tiers.process import owner_token

    _write(pytester, MISLEADING_IDS)
    stats, setups = pytester.path / "stats.json", pytester.path / "setups.log"
    monkeypatch.setenv("SETUPS_LOG", str(setups))
    # The controller's map directory: removed at the end; one a SIGKILLed controller left is swept.
    scratch = pytester.path / "scratch"
    pid, started = owner_token(".").split(".")
    orphan = scratch / f"{SESSION_PREFIX}{pid}.{int(started) + 1}-abcd1234"  # this pid, another process's start
    (orphan / "stale").mkdir(parents=True)
    monkeypatch.setenv("TMPDIR", str(scratch))
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-n", "2", "--cache-dir", str(cache.root),
                                           "--arch", "ppc64le,s390x", "--runner", "qemu-user", "-v",
                                           "--archsmoke-stats", str(stats))
    output = result.stdout.str() + result.stderr.str()
    assert result.ret == 0 and "10 passed" in output, output
    assert "test_ids_name_other_targets[s390x-ppc64le-s390x-manylinux]" in output, output
    assert "test_ids_name_other_targets[x-ppc64le-s390x-ppc64le]" in output, output
    starts = {placement: row["starts"] for placement, row in json.loads(stats.read_text()).items()}
    assert starts == {"ppc64le": 1, "s390x": 1}, (starts, output)
    assert len(setups.read_text().split()) == 1, (setups.read_text(), output)
    assert not list(scratch.glob(f"{SESSION_PREFIX}*")), list(scratch.iterdir())


@pytest.mark.parametrize("test_id, placement", [
    ("test_x[aarch64-x86_64-manylinux_2_28-archsmoke-picky==1.0]", "aarch64"),
    ("test_x[aarch64-vm-x86_64-manylinux_2_28]", "aarch64-vm"),
    ("test_x[rsa-s390x-2]", "s390x"),
    ("test_x[ppc64le-musl-vm-0]", "ppc64le-musl-vm"),
    ("test_x[x86_64]", "x86_64"),
    ("test_x[s390x_like-0]", None),
])
def test_the_placement_read_from_an_id_is_the_leftmost(test_id, placement):
    from archsmoke.plugin.verdict import placement_pattern

    found = placement_pattern(["aarch64", "aarch64-vm", "x86_64", "s390x", "ppc64le-musl", "ppc64le-musl-vm"]).search(test_id)
    assert (found.group(1) if found else None) == placement


def test_binary_path_with_a_space_or_an_equals_sign_is_the_same_run(tmp_path, cache):
    """pytest picks its rootdir before it knows --binary: the space form once took the file's folder for it and
    ran with none of the project's settings (another set of tests).  Both spellings now collect the same."""
    import shutil
    import subprocess
    from pathlib import Path

    binary = tmp_path / "elsewhere" / "uv"
    binary.parent.mkdir()
    shutil.copy("/bin/true", binary)
    root = Path(__file__).resolve().parents[2]
    collected = {}
    for spelling in (["--binary", str(binary)], [f"--binary={binary}"]):
        result = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--co", "-q",
                                 "--cache-dir", str(cache.root), *spelling], cwd=root, capture_output=True, text=True,
                                timeout=120)
        collected[spelling[0]] = [line for line in result.stdout.splitlines() if "::" in line]
    assert collected["--binary"] == collected[f"--binary={binary}"], collected
    assert collected["--binary"] and all(line.startswith("tests/smoke/uv/") for line in collected["--binary"])
