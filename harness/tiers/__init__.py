"""Tiers by name; ``--runner`` picks one.  Adding a tier: its own folder here and one line in TIERS."""

from __future__ import annotations

from ..errors import ConfigError
from .base import Runner, RunnerOptions, Tier, TierOption
from .results import CommandFailed, CommandResult
from .container import ContainerTier
from .qemu_user import QemuUserTier
from .ssh import SshTier
from .vm import VmTier

TIERS: dict[str, type[Tier]] = {tier.name: tier for tier in (QemuUserTier, ContainerTier, VmTier, SshTier)}
DEFAULT_TIER = QemuUserTier.name
# Without --runner, each target runs on the first of these and on each other one that proves a failure
# class the first does not (harness/coverage.py): qemu-user for the CPU floor, the VM for the page size.
DEFAULT_TIERS: tuple[type[Tier], ...] = (QemuUserTier, VmTier)


def tier_named(name: str) -> type[Tier]:
    try:
        return TIERS[name]
    except KeyError:
        raise ConfigError(f"unknown runner {name!r}; available: {', '.join(sorted(TIERS))}",
                          fix="pass one of those to --runner") from None


def tiers_named(value: str) -> list[type[Tier]]:
    """--runner's value: one tier, or several comma-separated (qemu-user,vm), each once."""
    names = [name.strip() for name in value.split(",")]
    if not all(names):
        raise ConfigError(f"--runner {value!r} names an empty tier", fix=f"pass tiers from {', '.join(sorted(TIERS))}, "
                                                                       "comma-separated")
    return [tier_named(name) for name in dict.fromkeys(names)]


__all__ = ["CommandFailed", "CommandResult", "DEFAULT_TIER", "Runner", "RunnerOptions", "TIERS", "Tier",
           "TierOption", "DEFAULT_TIERS", "tier_named", "tiers_named"]
