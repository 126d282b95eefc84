"""Progress lines for long work (building root filesystems, downloading, starting targets)."""

from __future__ import annotations

import sys
import time
from typing import Callable, TextIO

Sink = Callable[[str], None]


def stderr_sink(stream: TextIO | None = None) -> Sink:
    def write(line: str) -> None:
        out = stream or sys.stderr
        out.write(line + "\n")
        out.flush()

    return write


class Progress:
    """Prints ``[label] message (12.3 s)``; ``update`` is rate-limited so chatty work stays readable."""

    def __init__(self, label: str, sink: Sink | None = None, interval: float = 2.0):
        self.label = label
        self.sink = sink or stderr_sink()
        self.interval = interval
        self.started = time.monotonic()
        self._last = 0.0

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def say(self, message: str) -> None:
        self._last = time.monotonic()
        self.sink(f"[{self.label}] {message} ({self.elapsed:.1f} s)")

    def update(self, message: str) -> None:
        if time.monotonic() - self._last >= self.interval:
            self.say(message)
