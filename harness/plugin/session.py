"""What one archsmoke run knows: chosen targets and tier, the cache, the binaries under test.

The pytest plugin and the benchmark both drive targets through this object,
so there is one place that turns options into started, installed targets.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from .. import binary as binaries
from .. import coverage
from ..binary import BinaryUnderTest, Product, ReportedVersion
from ..install import InstalledBinary, install, mark_for_cpu_floor, unmark
from ..cache import Cache
from ..coverage import Placement
from ..errors import BinaryError, ConfigError, TargetError
from ..progress import Sink
from ..rootfs import RootfsBuilder
from ..signals import signal_name
from ..targets import ALL, Target, arch_words, require_libc
from ..tiers import DEFAULT_TIERS, Runner, RunnerOptions, TIERS, load_catalog, tiers_named
from ..cpu_floor import check_models, floor_model
from ..origins import Origins
from ..origins.package_index import PackageIndex
from ..records import TargetRecord


@dataclass
class Options:
    arches: list[str] = field(default_factory=list)
    binaries: list[Path] = field(default_factory=list)
    product: str | None = None  # for tests that declare none
    releases: list[str] = field(default_factory=list)  # "VERSION" or "NAME=VERSION"
    libc: str | None = None  # glibc or musl: each chosen arch's target of that libc
    runner: str | None = None  # tiers, comma-separated; None: the default tiers each target needs
    tier_values: dict[str, dict[str, Any]] = field(default_factory=dict)  # tier name -> its options' values
    cpu: str | None = None
    cache_dir: Path | None = None
    targets_dir: Path | None = None
    debian_mirror: str | None = None
    origin_values: dict[str, str | None] = field(default_factory=dict)  # origin option dest -> where (--index-url)

    @property
    def index_url(self) -> str | None:
        """The package index this run uses (suites fetch their own build dependencies from it)."""
        return self.origin_values.get(PackageIndex.option.dest)


class Archsmoke:
    def __init__(self, options: Options, sink: Sink | None = None):
        self.options = options
        self.sink = sink
        self.catalog = load_catalog(options.targets_dir)
        named = tiers_named(options.runner) if options.runner is not None else None
        self._tiers = named or list(DEFAULT_TIERS)
        self.tier_settings = {tier.name: tier.settings(options.tier_values.get(tier.name, {}))
                              for tier in self._tiers}
        for other in TIERS.values():
            given = [o.flag for o in other.options if options.tier_values.get(other.name, {}).get(o.dest) is not None]
            if other.name not in self.tier_settings and given:
                raise ConfigError(f"{' and '.join(given)} {'apply' if len(given) > 1 else 'applies'} to the "
                                  f"{other.name} tier only",
                                  fix=f"add --runner {other.name}, or drop them")
        self.origins = Origins(options.origin_values)
        self.releases = self._parse_releases(options.releases)
        if options.product is not None:
            binaries.product_named(options.product)
        self.cache = Cache(options.cache_dir)
        self.builder = RootfsBuilder(self.cache, options.debian_mirror, sink)
        self.local_binaries = [binaries.prepare(p, self.cache) for p in options.binaries]
        if self.local_binaries and "" in self.releases:
            raise ConfigError("--binary and --release VERSION both given",
                              fix="test either local builds or a release (NAME=VERSION names one product's release)")
        self.targets = self._choose_targets()
        for tier in self._tiers:
            tier.check(self.tier_settings[tier.name], self.catalog, self.targets)
        check_models(self.targets, self.options.cpu)
        self.plan = coverage.plan(self.targets, named, options.cpu)
        if self.plan.dropped and not self.plan.placements:
            left_out = "; ".join(f"{p.target.name} on {p.tier.name}: {why}" for p, why in self.plan.dropped)
            raise ConfigError(f"nothing to run: no target chosen is defined for the tier asked ({left_out})",
                              fix="choose a tier that runs these targets, or add the section to their YAML "
                                  "(see vms/README.md)")
        self.records: dict[str, TargetRecord] = {p.id: self._record(p) for p in self.plan.placements}
        self._binaries: dict[tuple[str, str], BinaryUnderTest] = {}
        # (target, product) each time a test asks for a product's build: which product a test tested, for its
        # JUnit properties, whatever fixture of its suite it went through (the uv suite's `uv`, ruff's `ruff`).
        self.touched: list[tuple[str, str]] = []
        self._installed: dict[tuple[Runner, str], InstalledBinary] = {}  # per started target: a restart reinstalls
        self._reported: dict[tuple[Runner, str], ReportedVersion] = {}
        self._cannot_run: dict[tuple[Runner, str], str] = {}
        self._records_by_runner: dict[Runner, TargetRecord] = {}
        self.failed_placements: set[str] = set()

    def _record(self, placement: Placement) -> TargetRecord:
        gaps = self.plan.gaps_of(placement.target)
        return TargetRecord(placement.target.name, placement.tier.name, placement=placement.id,
                            proves=coverage.proves(placement.tier, placement.target, self.options.cpu),
                            gaps=[g.describe() for g in gaps])

    @property
    def placements(self) -> list[Placement]:
        return self.plan.placements

    @property
    def tiers(self) -> list:
        """The tiers this run uses, in the registry's order."""
        used = {p.tier for p in self.placements}
        return [tier for tier in TIERS.values() if tier in used]

    @staticmethod
    def _parse_releases(values: list[str]) -> dict[str, str]:
        """{"": version for every product, "name": version for one}."""
        releases: dict[str, str] = {}
        for value in values:
            # NAME=VERSION, or pip's NAME==VERSION
            name, _, version = value.partition("==") if "==" in value else value.rpartition("=")
            binaries.require_version(version, name or "the product")
            if name:
                binaries.product_named(name)
            if name in releases and releases[name] != version:
                raise ConfigError(f"--release given twice for {name or 'every product'}: {releases[name]} and {version}")
            releases[name] = version
        return releases

    def _choose_targets(self) -> list[Target]:
        chosen = self._targets_by_arch()
        libc = self.options.libc
        if libc is None:
            return chosen
        require_libc(libc)
        named = [name for name in arch_words(self.options.arches) if name != ALL]
        if not named:  # no --arch, or 'all': every target of that libc
            every = self.catalog.select(self.options.arches or ["all"])
            return [t for t in every if t.libc == libc]
        return list(dict.fromkeys(self.catalog.with_libc(t, libc) for t in chosen))

    def _targets_by_arch(self) -> list[Target]:
        if self.options.arches:
            chosen = self.catalog.select(self.options.arches)
            if not chosen:
                raise ConfigError(f"--arch {' '.join(map(repr, self.options.arches))} names no target",
                                  fix=f"pass one of {', '.join(self.catalog.names)}, or 'all'")
            if self.local_binaries:
                for target in chosen:  # refuse a target no given build runs on, before anything runs
                    binaries.require_a_build_for(self.local_binaries, target)
            return chosen
        if self.local_binaries:
            # No --arch: test each given binary on the targets it was built for.
            every = list(self.catalog.targets.values())
            wanted = {t.name for b in self.local_binaries for t in binaries.targets_for(b, every)}
            chosen = [t for t in every if t.name in wanted]
            if not chosen:
                given = "; ".join(f"{b.origin}: {b.elf.describe()}" for b in self.local_binaries)
                raise BinaryError(f"no target runs the binaries given ({given}); known targets: "
                                           f"{', '.join(self.catalog.names)}",
                                           fix="pass a build for one of those, or add a target to vms/")
            return chosen
        given = [a for tier in self._tiers for a in tier.default_arches(self.tier_settings[tier.name])]
        return self.catalog.select(list(dict.fromkeys(given))) if given else self.catalog.default()

    @property
    def host_addresses(self) -> tuple[str, ...]:
        """Every address a target of this run may reach the host's loopback at (for servers' certificates)."""
        return tuple(dict.fromkeys(("127.0.0.1", *(tier.runner.host_address for tier in TIERS.values()
                                                     if tier.name in self.tier_settings))))

    def default_product(self) -> Product:
        """The product of tests that declare none: --product, else the one the --binary files are builds of."""
        if self.options.product:
            return binaries.product_named(self.options.product)
        names = {b.names[0] for b in self.local_binaries}
        known = [p for p in binaries.PRODUCTS.values() if any(b.provides(p) for b in self.local_binaries)]
        if len(known) == 1:
            return known[0]
        if len(names) == 1 and not known:  # one product archsmoke does not know: all its builds' executables
            name = names.pop()
            others = dict.fromkeys(n for b in self.local_binaries for n in b.names if n != name)
            return Product(name, executables=(name, *others))
        raise ConfigError("which product do these tests test?",
                          fix="pass --product NAME (built in: " + ", ".join(binaries.PRODUCTS) + "), or define the "
                              "archsmoke_product fixture in your conftest")

    @contextlib.contextmanager
    def started(self, placement: Placement) -> Iterator[Runner]:
        begun = time.monotonic()
        tier, target = placement.tier, placement.target
        settings = self.tier_settings[tier.name]
        rootfs = self.builder.ensure(target) if tier.uses_rootfs(settings, target) else None
        record = self.records[placement.id]
        record.rootfs_key = rootfs.key if rootfs else None
        runner = tier.runner(target, rootfs, RunnerOptions(
            cpu=self.options.cpu, sink=self.sink, cache=self.cache, mirror=self.options.debian_mirror,
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

    def _check_page_size_claim(self, runner: Runner, placement: Placement) -> None:
        """A placement that claims the target's page size must see it: a real machine's kernel may run with
        other pages than the target's usual ones (an aarch64 server's 4 KiB, a Pi 5's 16 KiB), and then the run
        does not prove that class there, which the reports must say."""
        target, record = placement.target, self.records[placement.id]
        claimed = coverage.needs(target, self.options.cpu)[coverage.PAGE_SIZE]
        seen = int(runner.kernel_facts.get("page_size") or 0)
        if claimed not in record.proves or seen == target.page_size:
            return
        record.take_back(claimed)
        others = [r for r in self.records.values() if r.target == target.name and claimed in r.proves]
        if others:
            return  # another placement of this run proves it
        gap = coverage.Gap(target.name, claimed, f"{placement.tier.name}: {runner.where} runs with "
                                                 f"{seen // 1024} KiB pages")
        self._name_gap(gap, [r for r in self.records.values() if r.target == target.name])

    def _name_gap(self, gap: coverage.Gap, records: list[TargetRecord]) -> None:
        """A gap found while running (the plan could not know it): the run's gaps, the records, the progress."""
        self.plan.gaps.append(gap)
        for record in records:
            record.gaps.append(gap.describe())
        if self.sink is not None:
            self.sink(f"[{gap.target}] NOT COVERED: {gap.describe()}")

    def binary_for(self, target: Target, product: Product) -> BinaryUnderTest:
        self.touched.append((target.name, product.name))
        key = (target.name, product.name)
        if key not in self._binaries:
            version = self.releases.get(product.name) or self.releases.get("")
            if self.local_binaries and version is None:
                chosen = binaries.matching(self.local_binaries, product, target)
            else:
                chosen = self.download(product, version or "latest", target)
            for record in self.records.values():
                if record.target == target.name:
                    record.binaries[product.name] = {
                        "origin": chosen.origin, "sha256": chosen.sha256, "version": chosen.version or ""}
            self._binaries[key] = chosen
        return self._binaries[key]

    def download(self, product: Product, version: str, target: Target) -> BinaryUnderTest:
        """The release's build for the target, from this run's index or npm registry (cached)."""
        return self.origins.for_product(product).fetch(product, version, target, self.cache, self.sink)

    def installed(self, runner: Runner, product: Product) -> InstalledBinary:
        """The product installed in the started target, once; a binary that cannot run there at all (its first
        command hit its budget or died by a signal) fails every later request at once, with that reason."""
        self.touched.append((runner.target.name, product.name))
        key = (runner, product.name)
        if key in self._cannot_run:
            raise TargetError(self._cannot_run[key])
        if key not in self._installed:
            installed = install(self.binary_for(runner.target, product), product, runner)
            first = runner.run([installed.path, *product.version_args], env=installed.env)
            if not first.ok and not first.timed_out and runner.marks_binary_under_test:
                first = self._floor_or_emulator(runner, installed, product, first)
            if first.timed_out or first.exit_code < 0:
                how = (f"hit its {first.timeout:.0f} s budget" if first.timed_out
                       else f"was killed by {signal_name(-first.exit_code)}")
                self._cannot_run[key] = (f"{product.name} cannot run on {runner.where}: its first command "
                                         f"`{first.command}` {how}; its other tests there fail at once\n"
                                         f"{first.report()}")
                raise TargetError(self._cannot_run[key])
            self._installed[key] = installed
            self._remember_version(runner, product, first)
        return self._installed[key]

    def _floor_or_emulator(self, runner: Runner, installed: InstalledBinary, product: Product, first):
        """A natively run target's build died under qemu-user at the CPU floor: a floor violation only if the
        emulator runs it at its best CPU model.  If it dies there too, the emulator cannot run this build at all
        (qemu-i386 7.2 and Go's 386 runtime): the build runs natively, and the floor is named as not covered."""
        target = runner.target
        at_max = runner.run([installed.path, *product.version_args], env={**installed.env, "QEMU_CPU": "max"})
        if at_max.ok:
            return first  # it runs above the floor and fails at it: the build needs a newer CPU
        paths = [installed.real_executable(name) for name in installed.binary.names_for(product)]
        unmark(runner, paths)
        native = runner.run([installed.path, *product.version_args], env=installed.env)
        if not native.ok:
            mark_for_cpu_floor(runner, paths)  # it fails natively too: the build itself
            return first
        floor = floor_model(target, self.options.cpu)
        gap = coverage.Gap(target.name, f"{coverage.CPU_FLOOR} {floor}",
                           f"qemu-{target.qemu_arch} cannot run this {product.name} build at any CPU model (its "
                           f"`{' '.join(product.version_args)}` failed at {floor} and at max: "
                           f"{_ending(first)}, {_ending(at_max)}), so it ran natively, at this host's CPU")
        record = self._records_by_runner[runner]
        record.take_back(coverage.CPU_FLOOR)
        self._name_gap(gap, [record])
        return native

    def _remember_version(self, runner: Runner, product: Product, result) -> ReportedVersion | None:
        """The version from a successful run of the version command (the install already ran it once)."""
        reported = product.parse_version(result.stdout) if result.ok else None
        if reported is not None:
            self._records_by_runner[runner].binaries[product.name]["reported_version"] = reported.version
            self._reported[(runner, product.name)] = reported
        return reported

    def reported_version(self, runner: Runner, installed: InstalledBinary) -> ReportedVersion:
        key = (runner, installed.product.name)
        if key not in self._reported:
            product = installed.product
            result = runner.run([installed.path, *product.version_args], env=installed.env).check()
            reported = self._remember_version(runner, product, result)
            if reported is None:
                raise BinaryError(f"`{product.main} {' '.join(product.version_args)}` printed {result.stdout!r}, "
                                  f"which does not match {product.version_pattern!r}",
                                  fix="check the binary, or the product's version_pattern")
        return self._reported[key]


def _ending(result) -> str:
    if result.timed_out:
        return f"past its {result.timeout:.0f} s budget"
    return f"killed by {signal_name(-result.exit_code)}" if result.exit_code < 0 else f"exit {result.exit_code}"

