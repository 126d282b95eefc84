"""A pytest-testinfra backend over any archsmoke runner, so tests can use host.run, host.file, ..."""

from __future__ import annotations

from typing import Any

import testinfra.host
from testinfra.backend import base

from ..tiers.base import Runner


class ArchsmokeBackend(base.BaseBackend):
    NAME = "archsmoke"

    def __init__(self, runner: Runner, *args: Any, **kwargs: Any):
        self.runner = runner
        super().__init__(runner.target.name, *args, **kwargs)

    def get_pytest_id(self) -> str:
        return self.runner.target.name

    def run(self, command: str, *args: str, **kwargs: Any) -> base.CommandResult:
        command = self.get_command(command, *args)
        result = self.runner.run(command)
        return self.result(result.exit_code, self.encode(command), result.stdout_bytes, result.stderr_bytes)


def host_for(runner: Runner) -> testinfra.host.Host:
    backend = ArchsmokeBackend(runner)
    host = testinfra.host.Host(backend)
    backend.set_host(host)
    return host
