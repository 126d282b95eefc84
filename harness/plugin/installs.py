"""A run's builds: which build each target gets (a local one, or a release from its origin), installed once per
started target, its first command telling whether it can run there at all, and the version it reports."""

from __future__ import annotations

from .. import binary as binaries
from .. import coverage
from ..binary import BinaryUnderTest, Product, ReportedVersion
from ..cpu_floor import floor_model
from ..errors import BinaryError, ConfigError, TargetError
from ..install import InstalledBinary, install, mark_for_cpu_floor, unmark
from ..rootfs.finish import target_python_version
from ..signals import signal_name
from ..targets import Target
from ..tiers import Runner
from .placements import Placements
from .run_config import RunConfig


class Installs:
    def __init__(self, config: RunConfig, placements: Placements):
        self.config = config
        self.placements = placements
        self._binaries: dict[tuple[str, str], BinaryUnderTest] = {}
        # (target, product) each time a test asks for a product's build: which product a test tested, for its
        # JUnit properties, whatever fixture of its suite it went through (the uv suite's `uv`, ruff's `ruff`).
        self.touched: list[tuple[str, str]] = []
        self._installed: dict[tuple[Runner, str], InstalledBinary] = {}  # per started target: a restart reinstalls
        self._reported: dict[tuple[Runner, str], ReportedVersion] = {}
        self._cannot_run: dict[tuple[Runner, str], str] = {}

    def binary_for(self, target: Target, product: Product) -> BinaryUnderTest:
        self._check_projects(product)
        self.touched.append((target.name, product.name))
        key = (target.name, product.name)
        if key not in self._binaries:
            version = self.config.releases.get(product.name) or self.config.releases.get("")
            if self.config.local_binaries and version is None:
                chosen = binaries.matching(self.config.local_binaries, product, target)
            else:
                chosen = self.download(product, version or "latest", target)
            for record in self.placements.records.values():
                if record.target == target.name:
                    record.binaries[product.name] = {
                        "origin": chosen.origin, "sha256": chosen.sha256, "version": chosen.version or ""}
            self._binaries[key] = chosen
        return self._binaries[key]

    def _check_projects(self, product: Product) -> None:
        """A --release for a name no built-in product has is for the project the tests test; given beside tests of
        another product (a mistyped `--release ufv=1.0` for the uv suite), it would be silently unused."""
        unused = [name for name in self.config.projects if name != product.name]
        if unused:
            given = ", ".join(f"--release {name}={self.config.releases[name]}" for name in unused)
            raise ConfigError(f"{given} names {', '.join(unused)}: no built-in product, and not what these tests "
                              f"test ({product.name})",
                              fix=f"name a built-in product ({', '.join(binaries.PRODUCTS)}), or test that project "
                                  f"alone with the no-code suite: pytest --pyargs archsmoke.generic --release "
                                  f"{unused[0]}==VERSION")

    def download(self, product: Product, version: str, target: Target) -> BinaryUnderTest:
        """The release's build for the target, from the product's origin (cached)."""
        origin = self.config.origins.for_product(product)
        if product.library and target.has_python:  # its wheels are built for one CPython: the target's
            python = target_python_version(self.config.builder.ensure(target).root)
            return origin.fetch(product, version, target, self.config.cache, self.config.sink, python=python)
        return origin.fetch(product, version, target, self.config.cache, self.config.sink)

    def installed(self, runner: Runner, product: Product) -> InstalledBinary:
        """The product installed in the started target, once; a binary that cannot run there at all (its first
        command hit its budget or died by a signal) fails every later request at once, with that reason."""
        self.touched.append((runner.target.name, product.name))
        key = (runner, product.name)
        if key in self._cannot_run:
            raise TargetError(self._cannot_run[key])
        if key not in self._installed:
            installed = install(self.binary_for(runner.target, product), product, runner,
                                index_url=self.config.options.index_url)
            first = runner.run(installed.first_command, env=installed.env)
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
            self._say_runtime(runner, installed)
            if product.executables:
                self._remember_version(runner, product, first)
        return self._installed[key]

    def _say_runtime(self, runner: Runner, installed: InstalledBinary) -> None:
        """What loads a library build, and whether it runs at the floor (its own marked copy, natively run)."""
        runtime = installed.python or installed.node
        if not installed.binary.libraries or runtime is None:
            return
        cpu = floor_model(runner.target, self.config.options.cpu)
        said = runtime if runtime not in installed.marked else f"{runtime}, run at CPU floor {cpu} through qemu-user"
        self.placements.record_of(runner).binaries[installed.product.name]["loaded_by"] = said

    def _floor_or_emulator(self, runner: Runner, installed: InstalledBinary, product: Product, first):
        """A natively run target's build died under qemu-user at the CPU floor: a floor violation only if the
        emulator runs it at its best CPU model.  If it dies there too, the emulator cannot run this build at all
        (qemu-i386 7.2 and Go's 386 runtime): the build runs natively, and the floor is named as not covered."""
        target = runner.target
        at_max = runner.run(installed.first_command, env={**installed.env, "QEMU_CPU": "max"})
        if at_max.ok:
            return first  # it runs above the floor and fails at it: the build needs a newer CPU
        paths = list(installed.marked)
        unmark(runner, paths)
        native = runner.run(installed.first_command, env=installed.env)
        if not native.ok:
            mark_for_cpu_floor(runner, paths)  # it fails natively too: the build itself
            return first
        floor = floor_model(target, self.config.options.cpu)
        gap = coverage.Gap(target.name, f"{coverage.CPU_FLOOR} {floor}",
                           f"qemu-{target.qemu_arch} cannot run this {product.name} build at any CPU model (its "
                           f"`{' '.join(installed.first_command[1:])}` failed at {floor} and at max: "
                           f"{_ending(first)}, {_ending(at_max)}), so it ran natively, at this host's CPU")
        record = self.placements.record_of(runner)
        record.take_back(coverage.CPU_FLOOR)
        self.placements.name_gap(gap, [record])
        return native

    def _remember_version(self, runner: Runner, product: Product, result) -> ReportedVersion | None:
        """The version from a successful run of the version command (the install already ran it once)."""
        reported = product.parse_version(result.stdout) if result.ok else None
        if reported is not None:
            self.placements.record_of(runner).binaries[product.name]["reported_version"] = reported.version
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
