"""The run's Archsmoke object, made only when a run asks for archsmoke (an option, or a test using a fixture)."""

from __future__ import annotations

import sys

import pytest

from ..errors import HarnessError
from ..signals import terminate_as_interrupt
from .options import options_from
from .session import Archsmoke

STATE = pytest.StashKey[Archsmoke]()


def active(config: pytest.Config) -> Archsmoke | None:
    return config.stash.get(STATE, None)


def session_state(config: pytest.Config, *, at_configure: bool = False) -> Archsmoke:
    state = active(config)
    if state is None:
        try:
            state = Archsmoke(options_from(config), sink=terminal_sink(config))
        except HarnessError as error:
            if at_configure:
                raise pytest.UsageError(f"archsmoke: {error}") from None
            pytest.exit(f"archsmoke: {error}", returncode=4)  # only bad input can fail here
        terminate_as_interrupt()
        config.stash[STATE] = state
    return state


def terminal_sink(config: pytest.Config):
    def write(line: str) -> None:
        reporter = config.pluginmanager.get_plugin("terminalreporter")
        capture = config.pluginmanager.get_plugin("capturemanager")
        if reporter is not None and capture is not None:
            with capture.global_and_fixture_disabled():
                reporter.write_line(line)
        elif reporter is not None:
            reporter.write_line(line)
        else:
            print(line, file=sys.stderr, flush=True)

    return write
