"""Running one host process with a deadline, for the runners' command execution."""

from __future__ import annotations

import contextlib
import os
import selectors
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from .output import StreamCapture


# After the command itself exits, output still arriving is read for this long: a background
# job it started may hold the pipes open forever and must not turn a finished command into a hang.
GRACE_SECONDS = 1.0


def kill_group(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


@dataclass
class Finished:
    """A host process run to its end (or its deadline)."""

    exit_code: int
    stdout: bytes  # what memory keeps of each stream (output.py)
    stderr: bytes
    seconds: float
    timed_out: bool
    stdout_file: Path | None = None  # where a stream too large for memory went
    stderr_file: Path | None = None


def run_with_deadline(argv: list[str], env: dict[str, str], timeout: float, stdin: bytes | None,
                      spill: tuple[Path, Path] | None = None, stdout_to: Path | None = None) -> Finished:
    """Runs argv; a command past its deadline is killed with its group.  Each stream is kept in memory up to
    output.MEMORY_LIMIT; beyond it, it goes to its `spill` file (stdout's, stderr's) and memory keeps its tail.
    stdout_to: all of stdout goes to that file instead (a file copied out of a target), none of it to memory."""
    started = time.monotonic()
    with open(stdout_to, "wb") if stdout_to is not None else contextlib.nullcontext() as whole:
        process = subprocess.Popen(argv, env=env, start_new_session=True,
                                   stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                                   stdout=whole if whole is not None else subprocess.PIPE, stderr=subprocess.PIPE)
    if stdin is not None:
        try:
            process.stdin.write(stdin)
        except BrokenPipeError:
            pass
        process.stdin.close()
    output = {process.stderr: StreamCapture(spill[1] if spill else None)}
    if process.stdout is not None:
        output[process.stdout] = StreamCapture(spill[0] if spill else None)
    deadline = started + timeout
    exited_at: float | None = None
    timed_out = False
    with selectors.DefaultSelector() as selector:
        for stream in output:
            selector.register(stream, selectors.EVENT_READ)
        while selector.get_map():
            now = time.monotonic()
            if exited_at is None and process.poll() is not None:
                exited_at = now
            if exited_at is not None and now - exited_at > GRACE_SECONDS:
                break
            if now > deadline:
                timed_out = True
                kill_group(process)
                deadline = float("inf")
                exited_at = exited_at or now
                continue
            for key, _ in selector.select(timeout=0.1):
                chunk = os.read(key.fd, 65536)
                if chunk:
                    output[key.fileobj].write(chunk)
                else:
                    selector.unregister(key.fileobj)
    remaining = max(0.0, deadline - time.monotonic()) if not timed_out else 10
    try:
        process.wait(timeout=remaining)
    except subprocess.TimeoutExpired:
        timed_out = True
        kill_group(process)
        process.wait()
    for stream in output:
        stream.close()
    stdout, stdout_file = output[process.stdout].finish() if process.stdout is not None else (b"", stdout_to)
    stderr, stderr_file = output[process.stderr].finish()
    return Finished(process.returncode, stdout, stderr, time.monotonic() - started, timed_out, stdout_file,
                    stderr_file)


def read_line(stream, timeout: float) -> bytes:
    """One line from a pipe, or b"" if none comes within the timeout (fail fast, never hang at start)."""
    with selectors.DefaultSelector() as selector:
        selector.register(stream, selectors.EVENT_READ)
        if not selector.select(timeout):
            return b""
    return stream.readline()


def start_time(pid: int) -> str | None:
    """A process's start time (clock ticks since boot), which with its pid names it uniquely."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def owner_token(separator: str) -> str:
    """This process as `pid<separator>starttime`, for things it leaves behind that a later run must judge."""
    return f"{os.getpid()}{separator}{start_time(os.getpid())}"


def owner_gone(token: str, separator: str) -> bool | None:
    """Whether the process named by an owner_token has exited (None: not such a token)."""
    pid, _, started = token.partition(separator)
    if not pid.isdigit() or not started:
        return None
    return start_time(int(pid)) != started


def new_session_dir(prefix: str, work_root: Path | None) -> Path:
    """A fresh directory for one started target, named by its owner (prefix, owner token, random part) from
    the moment it exists, after removing those whose owner is gone (SIGKILLed at any moment of a start)."""
    root = Path(work_root or tempfile.gettempdir())
    for session in root.glob(f"{prefix}*"):
        # None: not named by this version of archsmoke, so left alone.
        if owner_gone(session.name[len(prefix):].split("-", 1)[0], "."):
            remove_session_dir(session)
    return Path(tempfile.mkdtemp(prefix=f"{prefix}{owner_token('.')}-", dir=root))


def remove_session_dir(session: Path) -> None:
    # Overlay's work directory holds a mode-000 directory, and tests may leave read-only ones:
    # open each up before descending, or an unprivileged user could not remove them.
    for directory, subdirectories, _ in os.walk(session):
        for name in subdirectories:
            path = os.path.join(directory, name)
            if not os.path.islink(path):
                os.chmod(path, 0o700)
    shutil.rmtree(session, ignore_errors=True)
