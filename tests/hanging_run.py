"""A pytest run of archsmoke that hangs in a target, to be interrupted by the tests of cleanup."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

_TEST = """
import os, pathlib

def test_hangs(target):
    pathlib.Path(os.environ["ARCHSMOKE_TEST_STATE"]).write_text({state})
    target.run("sleep 1000")
"""


def as_in_a_terminal() -> None:
    """The run stands for a user's pytest in a terminal, where Ctrl-C and Ctrl-\\ are not ignored.  A job that a
    non-interactive shell starts in the background (as some CI launchers do) inherits both ignored (POSIX), and
    an ignored signal stays ignored across exec: the run would never see the signal the test sends."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGQUIT, signal.SIG_DFL)


def interrupt_hanging_run(tmp_path: Path, state_expression: str, args: list[str], how: signal.Signals,
                          env: dict[str, str] | None = None, check=None, whole_group: bool = False,
                          timings: dict | None = None) -> str:
    """Start the run, wait until the hanging test wrote `state_expression` (about its started target),
    call check(state) while it hangs, send `how` (to the run's whole process group, as a terminal's Ctrl-C
    does, with whole_group), wait for the run to end; returns the state.  timings["stop"]: seconds from
    the signal to the run's end."""
    (tmp_path / "test_hang.py").write_text(_TEST.format(state=state_expression))
    state = tmp_path / "state"
    log = tmp_path / "interrupted-run.log"
    with open(log, "wb") as output:
        child = subprocess.Popen(
            [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *args, str(tmp_path / "test_hang.py")],
            cwd=tmp_path, env={**os.environ, **(env or {}), "ARCHSMOKE_TEST_STATE": str(state)},
            stdout=output, stderr=subprocess.STDOUT, start_new_session=whole_group,
            preexec_fn=as_in_a_terminal,
        )
    try:
        deadline = time.monotonic() + 120
        while not state.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        text = state.read_text()
        time.sleep(1)
        if check is not None:
            check(text)
        signalled = time.monotonic()
        if whole_group:
            os.killpg(child.pid, how)
        else:
            child.send_signal(how)
        child.wait(timeout=60)
        if timings is not None:
            timings["stop"] = time.monotonic() - signalled
        said = log.read_text(errors="replace")
        # An interrupted run ends with pytest's own words, never a traceback of the harness's cleanup.
        assert "Traceback (most recent call last)" not in said and "INTERNALERROR" not in said, said[-4000:]
        return text
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()


def processes_naming(text: str) -> list[str]:
    """Pids of the processes whose command line contains `text`."""
    found = []
    for path in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if text.encode() in path.read_bytes():
                found.append(path.parent.name)
        except OSError:
            pass
    return found
