"""A run's configuration, checked before anything starts: its targets, tiers and their settings, origins,
releases, the cache and root filesystem builder, the local builds, and the plan (where each target runs and what
that proves).  Usable without pytest (bench/ makes one)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import binary as binaries
from .. import coverage
from ..arches import named_in
from ..binary import Product
from ..cache import Cache
from ..cpu_floor import check_models
from ..errors import BinaryError, ConfigError
from ..origins import Origins
from ..origins.package_index import PackageIndex
from ..placement import Placement
from ..progress import Sink
from ..rootfs import RootfsBuilder
from ..targets import ALL, Target, arch_words, require_libc
from ..tiers import DEFAULT_TIERS, TIERS, load_catalog, tiers_named


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


class RunConfig:
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
        self.targets = [self._with_runtimes(t) for t in self._choose_targets()]
        for tier in self._tiers:
            tier.check(self.tier_settings[tier.name], self.catalog, self.targets)
        check_models(self.targets, self.options.cpu)
        self.plan = coverage.plan(self.targets, named, options.cpu)
        if self.plan.dropped and not self.plan.placements:
            left_out = "; ".join(f"{p.target.name} on {p.tier.name}: {why}" for p, why in self.plan.dropped)
            raise ConfigError(f"nothing to run: no target chosen is defined for the tier asked ({left_out})",
                              fix="choose a tier that runs these targets, or add the section to their YAML "
                                  "(see vms/README.md)")

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

    @property
    def projects(self) -> list[str]:
        """The names --release gives that are no built-in product: projects on the package index (or products
        a suite's conftest defines)."""
        return [name for name in self.releases if name and name not in binaries.PRODUCTS]

    @property
    def may_test_libraries(self) -> bool:
        """Whether a build of this run can be native libraries (an extension wheel, an addon): not when every build
        is a --binary holding none, or the product named is not a library (a suite's own product may be one)."""
        if self.local_binaries:
            return any(b.libraries for b in self.local_binaries)
        if self.options.product:
            return binaries.product_named(self.options.product).library
        return True

    def _with_runtimes(self, target: Target) -> Target:
        """A glibc target's root gets the runtime that loads this run's addons (Debian's nodejs: glibc only)."""
        wanted: tuple[str, ...] = ()
        if any(b.kind == "npm" and b.libraries for b in self.local_binaries):
            wanted = ("nodejs",)
        elif not self.local_binaries:
            named = [binaries.product_for_release(name) for name in self.projects]
            if self.options.product:
                named.append(binaries.product_named(self.options.product))
            wanted = tuple(dict.fromkeys(p for product in named for p in product.runtime_packages))
        return target.with_packages(*wanted) if wanted and target.libc == "glibc" else target

    def default_product(self) -> Product:
        """The product of tests that declare none: --product, else the one the --binary files are builds of, else
        the project `--release NAME==VERSION` names."""
        if self.options.product:
            return binaries.product_named(self.options.product)
        if not self.local_binaries and len(self.projects) == 1:
            return binaries.product_for_release(self.projects[0])
        if self.local_binaries and all(b.is_library for b in self.local_binaries):
            projects = {b.library_project for b in self.local_binaries}
            if len(projects) == 1 and None not in projects:
                return Product.of_project(projects.pop())
        names = {_product_name(b) for b in self.local_binaries if b.names}
        known = [p for p in binaries.PRODUCTS.values() if any(b.provides(p) for b in self.local_binaries)]
        if len(known) == 1:
            return known[0]
        if len(names) == 1 and not known:  # one product archsmoke does not know: all its builds' executables
            name = names.pop()
            others = dict.fromkeys(n for b in self.local_binaries if b.kind != "executable"
                                   for n in b.names if n != name)
            return Product(name, executables=(name, *others))
        raise ConfigError("which product do these tests test?",
                          fix="pass --product NAME (built in: " + ", ".join(binaries.PRODUCTS) + "), or define the "
                              "archsmoke_product fixture in your conftest")


def _product_name(build) -> str:
    """The product a build is of, by name: a bare executable's file name without the arch it names
    (`--binary dist/mytool-ppc64le --binary dist/mytool-s390x` are both mytool), else its first executable's."""
    name = build.names[0]
    said = named_in(name) if build.kind == "executable" else None
    if said is None:
        return name
    stem = re.split(rf"[-_.]{re.escape(said[0])}(?:[-_.]|$)", name, maxsplit=1, flags=re.IGNORECASE)[0]
    stem = re.sub(r"([-_.](linux|unknown))+$", "", stem, flags=re.IGNORECASE)  # Go's mytool_linux_arm64
    return stem or name
