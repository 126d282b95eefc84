"""SIGTERM (CI cancelling a job, `kill`) must clean up like Ctrl-C does: make it raise KeyboardInterrupt."""

from __future__ import annotations

import signal
import threading


def _interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def terminate_as_interrupt() -> None:
    if threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _interrupt)
