"""Runner tiers by name; ``--runner`` picks one."""

from __future__ import annotations

from ..errors import ConfigError
from .base import CommandFailed, CommandResult, Runner, RunnerOptions
from .container import ContainerRunner
from .qemu_user import QemuUserRunner

RUNNERS: dict[str, type[Runner]] = {QemuUserRunner.name: QemuUserRunner, ContainerRunner.name: ContainerRunner}


def runner_class(name: str) -> type[Runner]:
    try:
        return RUNNERS[name]
    except KeyError:
        raise ConfigError(f"unknown runner {name!r}; available: {', '.join(sorted(RUNNERS))}",
                          fix="pass one of those to --runner") from None


__all__ = ["CommandFailed", "CommandResult", "Runner", "RunnerOptions", "RUNNERS", "runner_class"]
