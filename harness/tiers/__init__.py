"""Tiers by name; ``--runner`` picks one.  Adding a tier: its own folder here and one line in TIERS."""

from __future__ import annotations

from pathlib import Path

from ..errors import ConfigError
from ..targets import TargetCatalog
from ..targets.sections import Section
from .base import Runner, RunnerOptions
from .tier import Tier, TierOption
from .results import CommandFailed, CommandResult
from .container import ContainerTier
from .qemu_user import QemuUserTier
from .ssh import SshTier
from .vm import VmTier

TIERS: dict[str, type[Tier]] = {}


def register(tier: type[Tier]) -> type[Tier]:
    """Make a tier available to --runner, doctor, `images` and the target reader (its YAML section)."""
    if tier.name in TIERS and TIERS[tier.name] is not tier:
        raise ConfigError(f"two tiers are named {tier.name!r}: {TIERS[tier.name].__module__} and {tier.__module__}",
                          fix="give the new tier a name of its own")
    taken = {t.section.key: t.name for t in TIERS.values() if t.section is not None and t is not tier}
    if tier.section is not None and tier.section.key in taken:
        raise ConfigError(f"tier {tier.name}'s YAML section {tier.section.key!r} is tier {taken[tier.section.key]}'s",
                          fix="give the new tier's section a key of its own")
    TIERS[tier.name] = tier
    return tier


for _tier in (QemuUserTier, ContainerTier, VmTier, SshTier):
    register(_tier)
DEFAULT_TIER = QemuUserTier.name
# Without --runner, each target runs on the first of these and on each other one that proves a failure
# class the first does not (harness/coverage.py): qemu-user for the CPU floor, the VM for the page size.
DEFAULT_TIERS: tuple[type[Tier], ...] = (QemuUserTier, VmTier)


def sections() -> tuple[Section, ...]:
    """The parts of a target's YAML that the registered tiers own."""
    return tuple(tier.section for tier in TIERS.values() if tier.section is not None)


def load_catalog(directory: Path | None = None) -> TargetCatalog:
    """Every target in a directory of YAML files (archsmoke's vms/ by default), with the tiers' own sections."""
    return TargetCatalog.load(directory, sections())


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


__all__ = ["CommandFailed", "CommandResult", "DEFAULT_TIER", "Runner", "RunnerOptions", "TIERS", "Tier", "TierOption",
           "DEFAULT_TIERS", "load_catalog", "register", "sections", "tier_named", "tiers_named"]
