"""What a command run in a target gives back, the same on every tier."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import TargetError

TAIL_LINES = 25


def tail(text: str, lines: int = TAIL_LINES) -> str:
    kept = text.rstrip("\n").splitlines()[-lines:]
    return "\n".join(kept)


@dataclass
class CommandResult:
    command: str
    where: str
    exit_code: int
    stdout_bytes: bytes
    stderr_bytes: bytes
    duration: float
    timeout: float
    timed_out: bool = False
    # A stream too large for memory is in a file in the target's work area until the target stops; its bytes
    # above hold its tail (output.py).
    stdout_file: Path | None = None
    stderr_file: Path | None = None

    @property
    def stdout(self) -> str:
        return self.stdout_bytes.decode("utf-8", "replace")

    @property
    def stderr(self) -> str:
        return self.stderr_bytes.decode("utf-8", "replace")

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.timed_out

    def report(self) -> str:
        status = (f"timed out after its {self.timeout:.0f} s command budget and was killed"
                  if self.timed_out else f"exit code {self.exit_code}")
        return (
            f"command: {self.command}\n"
            f"where:   {self.where}\n"
            f"result:  {status}, {self.duration:.2f} s\n"
            f"--- stdout (tail) ---\n{tail(self.stdout)}\n"
            f"--- stderr (tail) ---\n{tail(self.stderr)}"
        )

    def check(self) -> CommandResult:
        if not self.ok:
            raise CommandFailed(self)
        return self


def finished_result(finished, where: str, timeout: float, exit_code: int | None = None) -> CommandResult:
    """A CommandResult of a host process that ran the command (process.Finished); exit_code: as the tier reads it."""
    return CommandResult(command="", where=where, exit_code=finished.exit_code if exit_code is None else exit_code,
                         stdout_bytes=finished.stdout, stderr_bytes=finished.stderr, duration=finished.seconds,
                         timeout=timeout, timed_out=finished.timed_out, stdout_file=finished.stdout_file,
                         stderr_file=finished.stderr_file)


class CommandFailed(TargetError):
    def __init__(self, result: CommandResult):
        self.result = result
        super().__init__(result.report())


def signal_exit_code(code: int) -> int:
    """A shell's or a container engine's 128+N for a command killed by signal N, as every tier reports it: -N
    (what subprocess says on qemu-user).  A program that itself exits with 129-192 reads as killed, too."""
    return -(code - 128) if 128 < code <= 128 + 64 else code


def program_of(command: str) -> str:
    """What a command, as CommandResult.command shows it, runs: the name of its program (python3.11 and a venv's
    python read as python), or `sh` for a shell command line."""
    first = command.split(None, 1)[0] if command.strip() else ""
    if not first or "=" in first or first in ("cd", "set", "for", "if", "{", "(") or first.startswith(("'", '"')):
        return "sh"
    name = first.rsplit("/", 1)[-1]
    return "python" if re.fullmatch(r"python[0-9.]*", name) else name
