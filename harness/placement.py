"""A placement: a target on a tier, the unit a run is made of (tests are parametrized on placements, and records,
logs, test ids and report columns are keyed by them)."""

from __future__ import annotations

from dataclasses import dataclass

from .targets import Target
from .tiers import DEFAULT_TIER, Tier


@dataclass(frozen=True)
class Placement:
    """A target on a tier: what tests are parametrized on, and what records, logs and test ids are keyed by."""

    target: Target
    tier: type[Tier]

    @property
    def id(self) -> str:
        """`ppc64le` on the default tier, `ppc64le-vm` elsewhere (test ids, log names, report columns)."""
        return self.target.name if self.tier.name == DEFAULT_TIER else f"{self.target.name}-{self.tier.name}"

    def __str__(self) -> str:
        return self.id
