"""The VM's serial console, driven with pexpect: boot to the agent's marker, then framed commands.

Every byte QEMU prints is kept in the console log.  Waiting fails fast on what
a boot that went wrong prints (a kernel panic, a missing root, init's own
failure marker), on QEMU exiting, and on the budget passing, each time with
the console's tail in the message.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

from ...errors import TargetError
from ...progress import Progress
from ...rootfs.build import die_with_parent
from ..results import tail
from . import guest

FAILURES = {
    "a kernel panic": rb"(Kernel panic - not syncing[^\r\n]*)",
    "the initramfs": re.escape(guest.FAILED.encode()) + rb" ([^\r\n]*)@@",
}
READY = re.escape(guest.READY.encode()) + rb" (\S+) (\S+) (\d+)@@"
# Kernel lines that say why a boot went wrong; a failure names them even when they scrolled out of its tail
# (the device lines after "unable to open an initial console" push it past 30 lines, measured with 2 vCPUs).
HINTS = re.compile(r"^.*(unable to open an initial console|Kernel panic|No working init found|VFS: Unable to mount"
                   r"|Unable to mount root|Kernel BUG|Oops).*$", re.MULTILINE)
TAIL_LINES = 30


def failure_message(where: str, what: str, log: str) -> str:
    """What went wrong, the kernel's own reason if it scrolled out of the tail, and the console's last lines."""
    last = tail(log, TAIL_LINES)
    earlier = [m.group(0).strip() for m in HINTS.finditer(log) if m.group(0).strip() not in last]
    said = "".join(f" (the kernel said earlier: {line})" for line in dict.fromkeys(earlier))
    return f"{where}: {what}{said}; the console's last lines:\n{last}"


class Console:
    def __init__(self, argv: list[str], log_path: Path, env: dict[str, str], where: str):
        self.where = where
        self.log_path = log_path
        # Imported here: only this tier needs it (the rootless qemu-user test runs with Debian's bare python3).
        import pexpect

        self._pexpect = pexpect
        self._log = open(log_path, "wb")
        self.process = pexpect.spawn(argv[0], argv[1:], env=env, echo=False, timeout=None,
                                     preexec_fn=die_with_parent, logfile=None, maxread=65536)
        self.process.logfile_read = self._log
        self.process.delaybeforesend = None

    @property
    def pid(self) -> int:
        return self.process.pid

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_bytes().decode("utf-8", "replace")

    def failure(self, what: str, fix: str | None = None) -> TargetError:
        return TargetError(failure_message(self.where, what, self.log()), fix=fix)

    def expect(self, pattern: bytes, budget: float, doing: str, progress: Progress | None = None) -> re.Match:
        """Wait for `pattern`, failing fast on the failure patterns and QEMU's exit."""
        patterns = [pattern, *FAILURES.values(), self._pexpect.EOF, self._pexpect.TIMEOUT]
        deadline = time.monotonic() + budget
        while True:
            remaining = deadline - time.monotonic()
            # In slices when progress is shown, so the console's last line can be reported while waiting.
            wait = min(remaining, 2.0) if progress else remaining
            index = self.process.expect(patterns, timeout=max(0.0, wait))
            if index == 0:
                return self.process.match
            if index <= len(FAILURES):
                name, match = list(FAILURES)[index - 1], self.process.match
                said = (match.group(1) if match.groups() else match.group(0)).decode(errors="replace").strip()
                raise self.failure(f"{doing} failed in {name}: {said}")
            if index == len(patterns) - 2:
                self.process.wait()
                raise self.failure(f"QEMU exited ({self._exit_status()}) while {doing}")
            if time.monotonic() >= deadline:
                raise self.failure(f"{doing} did not finish within its {budget:.0f} s budget")
            if progress:
                progress.update(f"{doing}: {self._last_line()}")

    def _last_line(self) -> str:
        lines = [line for line in self.log().splitlines() if line.strip()]
        return lines[-1].strip()[:100] if lines else "(nothing on the console yet)"

    def _exit_status(self) -> str:
        if self.process.signalstatus is not None:
            return f"killed by signal {self.process.signalstatus}"
        return f"exit status {self.process.exitstatus}"

    def send_line(self, line: str) -> None:
        self.process.send(line.encode() + b"\n")

    def alive(self) -> bool:
        return self.process.isalive()

    def close(self) -> None:
        if self.process.isalive():
            self.process.terminate(force=True)
        self.process.close(force=True)
        self._log.close()
