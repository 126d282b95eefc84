"""Tiers by name; ``--runner`` picks one.  Adding a tier: its own folder here and one line in TIERS."""

from __future__ import annotations

from ..errors import ConfigError
from .base import CommandFailed, CommandResult, Runner, RunnerOptions, Tier, TierOption
from .container import ContainerTier
from .qemu_user import QemuUserTier
from .vm import VmTier

TIERS: dict[str, type[Tier]] = {tier.name: tier for tier in (QemuUserTier, ContainerTier, VmTier)}
DEFAULT_TIER = QemuUserTier.name


def tier_named(name: str) -> type[Tier]:
    try:
        return TIERS[name]
    except KeyError:
        raise ConfigError(f"unknown runner {name!r}; available: {', '.join(sorted(TIERS))}",
                          fix="pass one of those to --runner") from None


__all__ = ["CommandFailed", "CommandResult", "DEFAULT_TIER", "Runner", "RunnerOptions", "TIERS", "Tier",
           "TierOption", "tier_named"]
