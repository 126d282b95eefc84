"""The reference build: the same release's (or the same set of --binary files') build for this host's own arch.
It runs natively, so what it answers is how the tool behaves; every target's build must answer as it does.

It runs in the arch's own root, like any build under test (it is the same untrusted code), on the qemu-user tier
and at this host's CPU: whether it runs at its CPU floor is the x86_64 target's question, not the reference's.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from archsmoke import binary as binaries
from archsmoke.arches import host_arch, runs_natively
from archsmoke.binary import BinaryUnderTest, Product
from archsmoke.install import install
from archsmoke.errors import HarnessError, NoBinaryForTarget
from archsmoke.plugin.session import Archsmoke
from archsmoke.progress import Progress
from archsmoke.targets import Target
from archsmoke.tiers import DEFAULT_TIER, RunnerOptions, tier_named

from .answers import Answer, Side, ask

FLAGS = (("--version",), ("--help",))


@dataclass
class Reference:
    """What the reference build answered, by (executable, args); `unavailable` says why there is none."""

    target: Target | None = None
    build: BinaryUnderTest | None = None
    side: Side | None = None
    answers: dict[tuple[str, tuple[str, ...]], Answer] = field(default_factory=dict)
    unavailable: str = ""

    def answer(self, name: str, args: tuple[str, ...]) -> Answer | None:
        return self.answers.get((name, args))

    def is_itself(self, build: BinaryUnderTest, target: Target) -> bool:
        return self.build is not None and build.sha256 == self.build.sha256 and target.name == self.target.name

    def describe(self) -> str:
        if self.build is None:
            return f"none: {self.unavailable}"
        return f"{self.target.name}: {self.build.origin}"


def commands(build: BinaryUnderTest, product: Product) -> list[tuple[str, tuple[str, ...]]]:
    names = build.names_for(product)
    return [(name, flags) for name in names for flags in FLAGS] + [(product.main, args) for args in product.compared]


def reference_targets(archsmoke: Archsmoke) -> list[Target]:
    """The targets this host runs natively, its own arch first (x86_64 before i386 on an x86_64 host)."""
    host = host_arch()
    natively = [t for t in archsmoke.catalog.targets.values() if runs_natively(t.debian_arch)]
    return sorted(natively, key=lambda t: (host is None or t.debian_arch != host.debian, t.libc != "glibc"))


def find_build(archsmoke: Archsmoke, product: Product) -> tuple[Target, BinaryUnderTest] | None:
    version = archsmoke.releases.get(product.name) or archsmoke.releases.get("")
    for target in reference_targets(archsmoke):
        if archsmoke.local_binaries and version is None:
            builds = [b for b in binaries.builds_of(archsmoke.local_binaries, product) if binaries.runs_on(b, target)]
            if builds:
                return target, builds[0]
            continue
        try:
            return target, archsmoke.download(product, version or "latest", target)
        except NoBinaryForTarget:
            continue
    return None


def gather(archsmoke: Archsmoke, product: Product) -> Reference:
    progress = Progress(f"reference {product.name}", archsmoke.sink)
    found = find_build(archsmoke, product)
    if found is None:
        progress.say("none: every build is judged on its own (--help's exit code is then not compared)")
        return Reference(unavailable=f"the {product.name} builds under test have none for this host's arch")
    target, build = found
    if not build.executables:
        return Reference(unavailable=f"the {product.name} build ships no executable to compare (its modules' imports "
                                     "are judged on their own)")
    progress.say(f"every build is compared with {target.name}'s: {build.origin}")
    rootfs = archsmoke.builder.ensure(target)
    tier = tier_named(DEFAULT_TIER)  # the reference runs on the default tier, at this host's own CPU (cpu "")
    options = RunnerOptions(cpu="", sink=archsmoke.sink, cache=archsmoke.cache, settings=tier.settings({}))
    with tier.runner(target, rootfs, options) as runner:
        installed = install(build, product, runner)
        side = Side(f"{target.name} (reference)", target.debian_arch, installed.install_dirs)
        answers = {}
        for name, args in commands(build, product):
            answers[(name, args)] = ask(runner, installed, name, args)
            if answers[(name, args)].timed_out:
                break  # one budget spent is enough: the targets' own tests say it hangs
    return Reference(target, build, side, answers)


@pytest.fixture(scope="session")
def reference(archsmoke: Archsmoke, archsmoke_product: Product) -> Reference:
    """The reference build's answers, gathered once per run (per worker under xdist)."""
    try:
        return gather(archsmoke, archsmoke_product)
    except HarnessError as error:  # the targets' own tests say what is wrong with the release
        return Reference(unavailable=f"its build for this host's arch could not be run: {error.problem}")
