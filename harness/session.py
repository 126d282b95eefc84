"""What one archsmoke run knows: chosen targets, the cache, the binaries under test.

The pytest plugin and the benchmark both drive targets through this object,
so there is one place that turns options into started, installed targets.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from . import binary as binaries
from . import binfmt
from .cache import Cache
from .engine import require_known as require_known_engine
from .errors import ConfigError
from .progress import Sink
from .rootfs import RootFilesystem, RootfsBuilder
from .runners import Runner, RunnerOptions, runner_class
from .targets import Target, TargetCatalog, require_libc


IMAGE_SOURCES = ("rootfs", "pinned")


@dataclass
class Options:
    arches: list[str] = field(default_factory=list)
    binaries: list[Path] = field(default_factory=list)
    uv_version: str | None = None
    libc: str | None = None  # glibc or musl: each chosen arch's target of that libc
    runner: str = "qemu-user"
    engine: str | None = None  # container tier: podman or docker
    image_source: str = "rootfs"  # container tier: rootfs (imported) or pinned (the target's image.ref)
    cpu: str | None = None
    cache_dir: Path | None = None
    targets_dir: Path | None = None
    debian_mirror: str | None = None
    index_url: str | None = None


@dataclass
class TargetRecord:
    """What a reader needs to trust a result on one target."""

    target: str
    runner: str
    rootfs_key: str | None = None
    root: str | None = None  # what the commands ran in: a root filesystem, or an image and where it came from
    qemu: str | None = None
    binary_origin: str | None = None
    binary_sha256: str | None = None
    binary_version: str | None = None
    reported_version: str | None = None
    commands: int = 0
    command_seconds: float = 0.0  # the commands' own durations in the target
    target_seconds: float = 0.0  # from asking for the target until it was stopped

    def properties(self) -> dict[str, str]:
        return {f"archsmoke_{k}": str(v) for k, v in vars(self).items() if v is not None and k in _IDENTITY}



_IDENTITY = ("target", "runner", "rootfs_key", "root", "qemu", "binary_origin", "binary_sha256", "binary_version",
             "reported_version")


class Archsmoke:
    def __init__(self, options: Options, sink: Sink | None = None):
        self.options = options
        self.sink = sink
        self.catalog = TargetCatalog.load(options.targets_dir)
        self.runner_class = runner_class(options.runner)
        if options.image_source not in IMAGE_SOURCES:
            raise ConfigError(f"unknown image source {options.image_source!r}",
                              fix=f"--image-source {' or '.join(IMAGE_SOURCES)}")
        if options.engine is not None:
            require_known_engine(options.engine)
        if options.runner != "container" and (options.engine or options.image_source != "rootfs"):
            raise ConfigError("--engine and --image-source apply to the container tier only",
                              fix="add --runner container, or drop them")
        self.cache = Cache(options.cache_dir)
        self.builder = RootfsBuilder(self.cache, options.debian_mirror, sink)
        self.local_binaries = [binaries.prepare(p, self.cache) for p in options.binaries]
        if self.local_binaries and options.uv_version:
            raise ConfigError("--binary and --uv-version both given", fix="test either a local binary or a release")
        self.targets = self._choose_targets()
        for target in self.targets:
            if self.local_binaries:
                binaries.matching(self.local_binaries, target)  # refuse a wrong-arch binary before anything runs
        self.records: dict[str, TargetRecord] = {t.name: TargetRecord(t.name, options.runner) for t in self.targets}
        self._binaries: dict[str, binaries.BinaryUnderTest] = {}
        self.failed_targets: set[str] = set()

    def _choose_targets(self) -> list[Target]:
        chosen = self._targets_by_arch()
        libc = self.options.libc
        if libc is None:
            return chosen
        require_libc(libc)
        named = [a for value in self.options.arches for a in value.split(",") if a.strip() not in ("", "all")]
        if not named:  # every target (no --arch, or 'all'): those of that libc
            return [t for t in chosen if t.libc == libc]
        return list(dict.fromkeys(self.catalog.with_libc(t, libc) for t in chosen))

    def _targets_by_arch(self) -> list[Target]:
        if self.options.arches:
            return self.catalog.select(self.options.arches)
        if self.local_binaries:
            # No --arch: test each given binary on the targets it was built for.
            return [t for t in self.catalog.targets.values()
                    if any(binaries.runs_on(b, t) for b in self.local_binaries)]
        return list(self.catalog.targets.values())

    def rootfs(self, target: Target) -> RootFilesystem:
        rootfs = self.builder.ensure(target)
        self.records[target.name].rootfs_key = rootfs.key
        return rootfs

    def uses_rootfs(self, target: Target) -> bool:
        return not (self.options.image_source == "pinned" and target.image is not None)

    @contextlib.contextmanager
    def started(self, target: Target) -> Iterator[Runner]:
        begun = time.monotonic()
        rootfs = self.rootfs(target) if self.uses_rootfs(target) else None
        image_source = "pinned" if not self.uses_rootfs(target) else "rootfs"
        runner = self.runner_class(target, rootfs, RunnerOptions(
            cpu=self.options.cpu, sink=self.sink, engine=self.options.engine, image_source=image_source,
            cache=self.cache))
        record = self.records[target.name]
        if not binfmt.runs_natively(target):
            record.qemu = binfmt.qemu_version(target)
        try:
            with runner:
                record.root = runner.root_description
                yield runner
        finally:
            record.commands += len(runner.history)
            record.command_seconds += sum(result.duration for result in runner.history)
            record.target_seconds += time.monotonic() - begun

    def binary_for(self, target: Target) -> binaries.BinaryUnderTest:
        if target.name not in self._binaries:
            if self.local_binaries:
                chosen = binaries.matching(self.local_binaries, target)
            else:
                chosen = binaries.download_release(self.options.uv_version or "latest", target, self.cache,
                                                   self.options.index_url, self.sink)
                binaries.check_runs_on(chosen.elf, target)
            record = self.records[target.name]
            record.binary_origin, record.binary_sha256, record.binary_version = (
                chosen.origin, chosen.sha256, chosen.version)
            self._binaries[target.name] = chosen
        return self._binaries[target.name]
