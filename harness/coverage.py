"""Where each target runs, and which failure classes that proves.

The two commonest ways a cross-built binary fails on real machines are an allocator built for 4 KiB
pages (its kernel's page size is larger: 64 KiB ppc64le, 16 KiB aarch64) and instructions above the
arch's floor (SIGILL on older CPUs).  A tier proves a class for a target when the binary under test
runs there at the target's page size, or at its floor CPU.  No single tier proves both everywhere:
qemu-user runs on this host's 4 KiB pages at the floor CPU; the VM tier boots the target's kernel,
on a CPU model the kernel needs (aarch64's 16 KiB kernel needs cortex-a76, above the a53 floor).

So a run places each target on one or more tiers: without --runner, on the default tiers it needs
to prove both classes; with --runner, on exactly the tiers named.  What no chosen tier proves is a
gap, which the run header, the JUnit properties and the Markdown report name: never a silent pass.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .cpu_floor import at_floor, floor_model
from .placement import Placement
from .targets import Target
from .tiers import DEFAULT_TIERS, Tier

PAGE_SIZE = "page size"
CPU_FLOOR = "CPU floor"


@dataclass(frozen=True)
class Gap:
    """A failure class that no tier of this run proves for a target."""

    target: str
    what: str  # "page size 64 KiB", "CPU floor qemu64"
    why: str

    def describe(self) -> str:
        return f"{self.what} on {self.target}: {self.why}"


@dataclass
class Plan:
    placements: list[Placement] = field(default_factory=list)
    gaps: list[Gap] = field(default_factory=list)
    dropped: list[tuple[Placement, str]] = field(default_factory=list)  # named tiers that cannot run a target

    def gaps_of(self, target: Target) -> list[Gap]:
        return [gap for gap in self.gaps if gap.target == target.name]


def needs(target: Target, cpu: str | None) -> dict[str, str]:
    """{class: what proving it means for this target}: its kernels' page size, and its CPU floor if it has one."""
    wanted = {PAGE_SIZE: f"{PAGE_SIZE} {target.page_size // 1024} KiB"}
    floor = floor_model(target, cpu)
    if floor:
        wanted[CPU_FLOOR] = f"{CPU_FLOOR} {floor}"
    return wanted


def proves(tier: type[Tier], target: Target, cpu: str | None, *, if_defined: bool = False) -> list[str]:
    """What running the target on this tier proves (a subset of needs()); if_defined: what it would prove if the
    target's definition had a section for this tier."""
    if not (if_defined or tier.defines(target)):
        return []
    wanted = needs(target, cpu)
    found = []
    if tier.page_size(target) == target.page_size:
        found.append(wanted[PAGE_SIZE])
    if CPU_FLOOR in wanted and at_floor(tier, target, cpu) is None:
        found.append(wanted[CPU_FLOOR])
    return found


def _why_not(tier: type[Tier], target: Target, cls: str, cpu: str | None) -> str:
    if not tier.defines(target):
        return f"{tier.name}: {tier.unavailable(target)}"
    if cls == PAGE_SIZE:
        return f"{tier.name} runs on {tier.describe_pages(target)}"
    return at_floor(tier, target, cpu) or f"{tier.name} cannot apply it"


def plan(targets: list[Target], tiers: list[type[Tier]] | None, cpu: str | None) -> Plan:
    """Place each target: on the named tiers, or (None) on the default tiers each one needs."""
    result = Plan()
    for target in targets:
        chosen, reasons = (_named(target, tiers, result) if tiers is not None else _needed(target, cpu))
        result.placements.extend(Placement(target, tier) for tier in chosen)
        proven = {p for tier in chosen for p in proves(tier, target, cpu)}
        for cls, what in needs(target, cpu).items():
            if what not in proven:
                why = "; ".join(reasons.get(cls, []) + [_why_not(tier, target, cls, cpu) for tier in chosen]) \
                    or "no tier of this run runs it"
                result.gaps.append(Gap(target.name, what, why))
    return result


def _named(target: Target, tiers: list[type[Tier]], result: Plan) -> tuple[list[type[Tier]], dict[str, list[str]]]:
    chosen = []
    for tier in tiers:
        if tier.defines(target):
            chosen.append(tier)
        else:
            result.dropped.append((Placement(target, tier), tier.unavailable(target) or "not defined"))
    return chosen, {}


def _needed(target: Target, cpu: str | None) -> tuple[list[type[Tier]], dict[str, list[str]]]:
    """The first default tier always; each further one only if it proves a class the others do not."""
    chosen: list[type[Tier]] = []
    proven: set[str] = set()
    reasons: dict[str, list[str]] = {}
    for tier in DEFAULT_TIERS:
        adds = set(proves(tier, target, cpu, if_defined=True)) - proven
        if chosen and not adds:
            continue
        why = tier.unavailable(target) if chosen else None
        if why is not None:
            for cls, what in needs(target, cpu).items():
                if what in adds:
                    reasons.setdefault(cls, []).append(f"{tier.name}: {why}")
            continue
        chosen.append(tier)
        proven |= adds
    return chosen, reasons
