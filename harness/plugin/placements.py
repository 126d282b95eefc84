"""A run's placements as they run: each one started when its first test asks for it, and what it reports (its
record: what it proves, the gaps, what it ran on)."""

from __future__ import annotations

import contextlib
import time
from typing import Iterator

from .. import coverage
from ..placement import Placement
from ..records import TargetRecord
from ..tiers import Runner, RunnerOptions
from ..tiers.results import program_of
from .run_config import RunConfig


class Placements:
    def __init__(self, config: RunConfig):
        self.config = config
        self.records: dict[str, TargetRecord] = {p.id: self._record(p) for p in config.plan.placements}
        self._records_by_runner: dict[Runner, TargetRecord] = {}
        self.failed_placements: set[str] = set()

    def record_of(self, runner: Runner) -> TargetRecord:
        return self._records_by_runner[runner]

    def _record(self, placement: Placement) -> TargetRecord:
        gaps = self.config.plan.gaps_of(placement.target)
        return TargetRecord(placement.target.name, placement.tier.name, placement=placement.id,
                            proves=coverage.proves(placement.tier, placement.target, self.config.options.cpu),
                            gaps=[g.describe() for g in gaps])

    @contextlib.contextmanager
    def started(self, placement: Placement) -> Iterator[Runner]:
        begun = time.monotonic()
        tier, target = placement.tier, placement.target
        settings = self.config.tier_settings[tier.name]
        rootfs = self.config.builder.ensure(target) if tier.uses_rootfs(settings, target) else None
        record = self.records[placement.id]
        record.rootfs_key = rootfs.key if rootfs else None
        runner = tier.runner(target, rootfs, RunnerOptions(
            cpu=self.config.options.cpu, sink=self.config.sink, cache=self.config.cache, mirror=self.config.options.debian_mirror,
            settings=settings))
        self._records_by_runner[runner] = record
        record.qemu = tier.emulator_version(target)
        try:
            with runner:
                record.starts += 1
                record.root = runner.root_description
                record.tier_label = runner.report_label
                record.kernel = runner.kernel_facts
                self._check_page_size_claim(runner, placement)
                yield runner
        finally:
            record.commands += len(runner.history)
            record.command_seconds += sum(result.duration for result in runner.history)
            record.target_seconds += time.monotonic() - begun
            for result in runner.history:
                tally = record.programs.setdefault(program_of(result.command), [0, 0.0])
                tally[0] += 1
                tally[1] += result.duration

    def _check_page_size_claim(self, runner: Runner, placement: Placement) -> None:
        """A placement that claims the target's page size must see it: a real machine's kernel may run with
        other pages than the target's usual ones (an aarch64 server's 4 KiB, a Pi 5's 16 KiB), and then the run
        does not prove that class there, which the reports must say."""
        target, record = placement.target, self.records[placement.id]
        claimed = coverage.needs(target, self.config.options.cpu)[coverage.PAGE_SIZE]
        seen = int(runner.kernel_facts.get("page_size") or 0)
        if claimed not in record.proves or seen == target.page_size:
            return
        record.take_back(claimed)
        others = [r for r in self.records.values() if r.target == target.name and claimed in r.proves]
        if others:
            return  # another placement of this run proves it
        gap = coverage.Gap(target.name, claimed, f"{placement.tier.name}: {runner.where} runs with "
                                                 f"{seen // 1024} KiB pages")
        self.name_gap(gap, [r for r in self.records.values() if r.target == target.name])

    def name_gap(self, gap: coverage.Gap, records: list[TargetRecord]) -> None:
        """A gap found while running (the plan could not know it): the run's gaps, the records, the progress."""
        self.config.plan.gaps.append(gap)
        for record in records:
            record.gaps.append(gap.describe())
        if self.config.sink is not None:
            self.config.sink(f"[{gap.target}] NOT COVERED: {gap.describe()}")
