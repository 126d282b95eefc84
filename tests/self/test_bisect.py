"""`python -m archsmoke bisect`: the search on its own (pure logic), then whole bisects over real releases of a
small product built here, published on a loopback index, each step a real pytest run on the x86_64 target.

The releases (tool 1.0 ... 1.8): 1.0 and 1.1 work; 1.2's --help is broken (another failure than the crash);
1.3 works; 1.4 crashes (SIGSEGV) on `tool work`, and so does 1.6; 1.5 ships no x86_64 build; 1.7 works but
its test fails once and then passes (flaky); 1.8 works.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from archsmoke.bisect import BAD, DIFFERENT, FLAKY, GOOD, EndsDisagree, Step, bisect
from toolwheels import make_wheel

# --- the search alone ----------------------------------------------------------------------------


def _judge(states: dict[str, str], calls: list[str]):
    def judge(version: str) -> Step:
        calls.append(version)
        state = states[version]
        if state == GOOD:
            return Step(version, True)
        if state == FLAKY:
            return Step(version, False, ("test_a",), rerun=Step(version, True))
        failing = ("test_other",) if state == DIFFERENT else ("test_a",)
        return Step(version, False, failing, rerun=Step(version, False, failing))
    return judge


def test_first_bad_with_good_older():
    versions = [f"1.{i}" for i in range(16)]
    states = {v: GOOD if i < 11 else BAD for i, v in enumerate(versions)}
    calls: list[str] = []
    answer = bisect(versions, GOOD, _judge(states, calls))
    assert answer.line == "first bad: 1.11 (last good: 1.10)"
    assert calls[:2] == ["1.15", "1.0"] and len(calls) <= 2 + 4  # the ends first (bad end first), then halvings


def test_first_good_with_bad_older():
    versions = ["0.1", "0.2", "0.3", "0.4", "0.5"]
    states = {"0.1": BAD, "0.2": BAD, "0.3": BAD, "0.4": GOOD, "0.5": GOOD}
    answer = bisect(versions, BAD, _judge(states, []))
    assert answer.line == "first good: 0.4 (last bad: 0.3)"
    assert answer.verdicts["0.3"].state == BAD


def test_ends_that_are_not_what_they_are_said_to_be():
    with pytest.raises(EndsDisagree, match="the bad end 2.0 passes"):
        bisect(["1.0", "2.0"], GOOD, _judge({"1.0": GOOD, "2.0": GOOD}, []))
    with pytest.raises(EndsDisagree, match="the good end 1.0 fails"):
        bisect(["1.0", "2.0"], GOOD, _judge({"1.0": BAD, "2.0": BAD}, []))
    with pytest.raises(EndsDisagree, match="the bad end 2.0 is flaky"):
        bisect(["1.0", "2.0"], GOOD, _judge({"1.0": GOOD, "2.0": FLAKY}, []))


def test_set_aside_steps_are_never_bisected_on_and_leave_the_answer_open_when_they_must():
    versions = ["1", "2", "3", "4", "5"]
    decided = bisect(versions, GOOD, _judge({"1": GOOD, "2": GOOD, "3": DIFFERENT, "4": GOOD, "5": BAD}, []))
    assert decided.line == "first bad: 5 (last good: 4)" and decided.verdicts["3"].state == DIFFERENT
    open_ = bisect(versions, GOOD, _judge({"1": GOOD, "2": GOOD, "3": FLAKY, "4": BAD, "5": BAD}, []))
    assert open_.first == "4" and open_.undecided == ["3"]
    assert open_.line == "first bad: one of 3, 4 (last good: 2; 3 flaky)"


def test_adjacent_ends_answer_at_once():
    calls: list[str] = []
    assert bisect(["1", "2"], BAD, _judge({"1": BAD, "2": GOOD}, calls)).line == "first good: 2 (last bad: 1)"
    assert calls == ["1", "2"]


# --- whole bisects over releases published on a loopback index -------------------------------------

TOOL_C = r"""
#include <stdio.h>
#include <string.h>
int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "--version") == 0) { printf("tool %s\n", VERSION); return 0; }
    if (argc > 1 && strcmp(argv[1], "--help") == 0) {
#ifdef HELP_BROKEN
        fprintf(stderr, "tool: cannot print help\n"); return 2;
#endif
        printf("usage: tool work\n"); return 0;
    }
    if (argc > 1 && strcmp(argv[1], "work") == 0) {
#ifdef CRASH
        volatile int *nowhere = 0; *nowhere = 1;
#endif
        printf("worked\n"); return 0;
    }
    return 1;
}
"""

CONFTEST = """
import pytest
from archsmoke import Product

@pytest.fixture(scope="session")
def archsmoke_product():
    return Product("tool", executables=("tool",), project="tool")
"""

TESTS = """
import os
from pathlib import Path

def test_help(target, installed_binary):
    assert target.run(installed_binary.command("--help")).exit_code == 0

def test_work(target, installed_binary, binary_under_test):
    if binary_under_test.version == "1.7":  # fails the first time only: a flaky test, as seen in the wild
        ran = Path(os.environ["TOOL_FLAKY_DIR"]) / "ran"
        if not ran.exists():
            ran.touch()
            raise AssertionError("a flaky failure")
    result = target.run(installed_binary.command("work"))
    assert result.exit_code == 0, result.report()
"""

BEHAVIOUR = {"1.2": ["-DHELP_BROKEN"], "1.4": ["-DCRASH"], "1.6": ["-DCRASH"]}
VERSIONS = [f"1.{i}" for i in range(9)]


@pytest.fixture(scope="module")
def tool_wheels(tmp_path_factory) -> list[Path]:
    out = tmp_path_factory.mktemp("tool-releases")
    (out / "tool.c").write_text(TOOL_C)
    wheels = []
    for version in VERSIONS:
        binary = out / f"tool-{version}"
        subprocess.run(["gcc", "-O1", "-static", f'-DVERSION="{version}"', *BEHAVIOUR.get(version, []),
                        "-o", str(binary), str(out / "tool.c")], check=True)
        platform = "manylinux_2_17_aarch64" if version == "1.5" else "manylinux_2_17_x86_64"
        wheels.append(make_wheel(out, "tool", version, {"tool": binary.read_bytes()}, platform))
    return wheels


@pytest.fixture
def project(tmp_path, tool_wheels, loopback_index):
    loopback_index.publish(tool_wheels)
    root = tmp_path / "project"
    (root / "tests").mkdir(parents=True)
    (root / "conftest.py").write_text(CONFTEST)
    (root / "tests" / "test_tool.py").write_text(TESTS)
    (tmp_path / "flaky").mkdir()
    return root


def _bisect(project: Path, cache_dir: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "TOOL_FLAKY_DIR": str(project.parent / "flaky")}
    return subprocess.run([sys.executable, "-m", "archsmoke", "--cache-dir", str(cache_dir), "bisect", "--product",
                           "tool", "--arch", "x86_64", *args, "--", "tests"], cwd=project, capture_output=True,
                          text=True, env=env, timeout=1200)


@pytest.fixture
def bisect_cache(tmp_path, cache):
    """Its own cache for steps, sharing the root filesystems (linked) so nothing is rebuilt."""
    own = tmp_path / "cache"
    own.mkdir()
    (own / "rootfs").symlink_to(cache.root / "rootfs")
    return own


def test_first_bad_over_published_releases_then_again_from_the_cache(project, loopback_index, bisect_cache):
    first = _bisect(project, bisect_cache, "--good", "1.0", "--bad", "1.6", "--index-url", loopback_index.url)
    assert first.returncode == 0, first.stdout + first.stderr[-3000:]
    assert first.stdout.strip().splitlines()[-1] == "first bad: 1.4 (last good: 1.3)"
    table = first.stdout
    assert re.search(r"\| 1\.2 \| fails differently \| .*test_help", table)
    assert re.search(r"\| 1\.4 \| bad \| .*test_work", table)
    assert "| 1.5 | not tried: no build for x86_64 |" in table
    assert "skipping tool 1.5: no build for x86_64" in first.stderr
    assert re.search(r"step 1 of about \d+: tool 1\.6 bad: .*test_work", first.stderr)
    log = Path(project / "archsmoke-bisect" / "tool-1.4-x86_64.log").read_text()
    assert "test_work" in log and "signal 11" in log  # the step's own pytest output: the crash
    again = _bisect(project, bisect_cache, "--good", "1.0", "--bad", "1.6", "--index-url", loopback_index.url)
    assert again.returncode == 0 and again.stdout.strip().splitlines()[-1] == "first bad: 1.4 (last good: 1.3)"
    assert "running tool" in again.stderr and "(cached;" in again.stderr
    assert all(" s; log" not in line for line in again.stderr.splitlines() if "step " in line)


def test_first_good_with_a_flaky_release_set_aside(project, loopback_index, bisect_cache):
    """1.7 fails, then passes on the rerun: it is not bisected on, and the answer says it is left open."""
    done = _bisect(project, bisect_cache, "--bad", "1.4", "--good", "1.8", "--index-url", loopback_index.url)
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-1] == "first good: one of 1.7, 1.8 (last bad: 1.6; 1.7 flaky)"
    assert re.search(r"\| 1\.7 \| flaky \| .*test_work", done.stdout)


@pytest.mark.parametrize("args, message", [
    (["--good", "1.0", "--bad", "1.77"], r"tool 1\.77 is not a release on .* \(near it: 1\.7, 1\.8\)"),
    (["--good", "1.3", "--bad", "1.3"], r"--good and --bad are the same release \(1\.3\)"),
    (["--good", "1.0", "--bad", "one"], r"'one' is not a version number of tool"),
    (["--good", "1.4", "--bad", "1.0"], r"the bad end 1\.0 passes, so tool 1\.4\.\.1\.0 on x86_64 cannot be bisected"),
    (["--good", "1.5", "--bad", "1.6"], r"tool 1\.5 has no build for x86_64"),
], ids=["no-such-release", "same-twice", "not-a-version", "ends-swapped", "no-build-for-arch"])
def test_bad_input(project, loopback_index, bisect_cache, args, message):
    done = _bisect(project, bisect_cache, *args, "--index-url", loopback_index.url)
    assert done.returncode == 2, done.stdout + done.stderr
    assert re.search(message, done.stderr), done.stderr
    assert "Traceback" not in done.stderr and "fix:" in done.stderr


def test_an_unreachable_index_is_exit_5(project, bisect_cache):
    done = _bisect(project, bisect_cache, "--good", "1.0", "--bad", "1.6", "--index-url", "http://127.0.0.1:9/simple")
    assert done.returncode == 5 and "Traceback" not in done.stderr, done.stderr


def test_a_selection_that_collects_no_test_is_bad_input_and_its_log_is_kept(project, loopback_index, bisect_cache):
    """pytest's own 5 ("no tests collected") is not archsmoke's 5 (a download failed); the step's log, whose
    staging directory goes with the failed step, is kept where the message says."""
    env = {**os.environ, "TOOL_FLAKY_DIR": str(project.parent / "flaky")}
    done = subprocess.run([sys.executable, "-m", "archsmoke", "--cache-dir", str(bisect_cache), "bisect", "--product",
                           "tool", "--arch", "x86_64", "--good", "1.0", "--bad", "1.6", "--index-url",
                           loopback_index.url, "--", "tests", "-k", "no_test_is_named_this"], cwd=project,
                          capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 2 and "ran no test" in done.stderr and "Traceback" not in done.stderr, done.stderr
    kept = re.search(r"see (\S+\.log)", done.stderr)
    assert kept and (project / kept.group(1)).is_file(), done.stderr


# --- a release that contradicts its own label is bad, not bad input -----------------------------------

LABEL_VERSIONS = ("3.0", "3.1", "3.2", "3.3")


@pytest.fixture(scope="module")
def labelled_wheels(tmp_path_factory) -> list[Path]:
    """tool 3.0 and 3.1 are tagged for the glibc they need (manylinux_2_34: Debian 12's gcc links
    __libc_start_main@GLIBC_2.34); from 3.2 on, the tag says manylinux_2_17, which the executable contradicts."""
    out = tmp_path_factory.mktemp("labelled-releases")
    (out / "tool.c").write_text(TOOL_C)
    wheels = []
    for version in LABEL_VERSIONS:
        binary = out / f"tool-{version}"
        subprocess.run(["gcc", "-O1", f'-DVERSION="{version}"', "-o", str(binary), str(out / "tool.c")], check=True)
        tag = "manylinux_2_34_x86_64" if version in ("3.0", "3.1") else "manylinux_2_17_x86_64"
        wheels.append(make_wheel(out, "tool", version, {"tool": binary.read_bytes()}, tag))
    return wheels


def test_bisect_counts_a_release_that_contradicts_its_tag_as_bad(labelled_wheels, loopback_index, bisect_cache,
                                                                  tmp_path):
    """The no-code suite as each step, in a project whose conftest names the product."""
    loopback_index.publish(labelled_wheels)
    (tmp_path / "conftest.py").write_text(CONFTEST)
    done = subprocess.run([sys.executable, "-m", "archsmoke", "--cache-dir", str(bisect_cache), "bisect", "--product",
                           "tool", "--arch", "x86_64", "--good", "3.0", "--bad", "3.3", "--index-url",
                           loopback_index.url, "--", "--pyargs", "archsmoke.generic"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=1200)
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-1] == "first bad: 3.2 (last good: 3.1)"
    assert re.search(r"\| 3\.2 \| bad \| .*test_the_build_is_what_its_label_says", done.stdout), done.stdout


SLOW_TESTS = """
import time

def test_slow(target, installed_binary):
    time.sleep(600)
"""


def test_a_killed_bisect_leaves_no_step_running(project, loopback_index, bisect_cache):
    """SIGKILL of bisect itself: its step's pytest is told (SIGTERM through the parent-death signal) and stops."""
    import signal
    import time

    (project / "tests" / "test_tool.py").write_text(SLOW_TESTS)
    bisect_run = subprocess.Popen([sys.executable, "-m", "archsmoke", "--cache-dir", str(bisect_cache), "bisect",
                                   "--product", "tool", "--arch", "x86_64", "--good", "1.0", "--bad", "1.3",
                                   "--index-url", loopback_index.url, "--", "tests"], cwd=project,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def steps() -> list[int]:
        found = subprocess.run(["pgrep", "-f", "--", f"pytest .*--release.*--cache-dir[= ]{bisect_cache} "],
                               capture_output=True, text=True).stdout.split()
        return [int(pid) for pid in found]

    try:
        deadline = time.monotonic() + 120
        while not steps() and time.monotonic() < deadline:
            time.sleep(0.5)
        assert steps(), "the first step never started"
        time.sleep(3)  # into its test
    finally:
        bisect_run.send_signal(signal.SIGKILL)
        bisect_run.wait()
    deadline = time.monotonic() + 60
    while steps() and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not steps(), "a step of the killed bisect is still running"
