"""The CPU floor, in one place: the oldest CPU model of an arch a build must run on, and whether a placement runs
the binary under test at it (or why not).

A target's floor is its YAML's `cpu` (or --cpu; --cpu '' means QEMU's default model, no floor).  Only QEMU can
run a binary at a model other than the host's, so the floor applies to targets with a `qemu_arch`.  Whether a
tier runs the build there is the tier's own answer (`Tier.cpu_model`, `Tier.floor_unavailable`): qemu-user and
containers pass QEMU_CPU (or, for natively run targets, mark the binary for the floor's binfmt handler); a VM
runs the model its kernel needs; a real machine, its own CPU.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .errors import ConfigError
from .targets import Target

if TYPE_CHECKING:
    from .tiers.tier import Tier


def floor_model(target: Target, override: str | None) -> str | None:
    """The QEMU CPU model that is the target's floor in this run: --cpu, else the target's; None where no floor
    applies (a target without a qemu_arch, or --cpu '')."""
    chosen = override if override is not None else target.cpu
    return (chosen or None) if target.qemu_arch else None


def at_floor(tier: type[Tier], target: Target, override: str | None) -> str | None:
    """None when the tier runs the target's binary under test at its floor; else why not (for the run's gaps)."""
    floor = floor_model(target, override)
    if floor is None:
        return f"{target.name} has no CPU floor in this run"
    model = tier.cpu_model(target, override)
    if model is None:
        return f"{tier.name} runs it on this host's CPU"
    if model != floor:
        return f"{tier.name} runs it on {model}"
    return tier.floor_unavailable(target)


def check_models(targets: list[Target], override: str | None) -> None:
    """A floor model QEMU does not know would fail every command: refuse it before anything starts."""
    from .host.binfmt import qemu_cpu_models

    for target in targets:
        model = floor_model(target, override)
        known = qemu_cpu_models(target.qemu_arch) if model else None
        if known is not None and model not in known:
            said = f"--cpu {model}" if override else f"{target.source.name}'s cpu: {model}"
            raise ConfigError(f"{said}: qemu-{target.qemu_arch} knows no CPU model {model!r} (target {target.name})",
                              fix=f"choose one that `qemu-{target.qemu_arch}-static -cpu help` lists")
