#!/usr/bin/env python3
"""Benchmark: what archsmoke costs on top of the emulated work.

Part 1, start-up (per arch, through the API the pytest plugin uses): ensure the
root filesystem, fetch the uv wheel, start the target, install uv with the
target's pip, run `uv --version`, stop.

    cold        wall time with an empty cache (builds the root filesystem, downloads uv)
    warm        wall time with everything cached (median of --runs)
    emulated    sum of the durations of the commands run in the target (warm)
    overhead    (warm - emulated) / emulated: what the harness itself adds

Part 2, the uv smoke suite (tests/smoke/uv, warm cache, one pytest process per arch):

    wall        the pytest process, start to end (includes pytest's own start-up)
    target      from asking for the target until it stopped
    emulated    sum of the commands' own durations in the target
    overhead    (target - emulated) / emulated

then every arch in one run, one after another and with pytest-xdist (-n 2),
and the speed-up.

Before both, per tier and arch: "ready", the seconds from asking for a started target (warm cache) until
it answers (for the VM tier, the boot to the agent), and the median of 20 emulated `true` commands end to
end: the transport's own cost per command.

Both parts run per tier (--runners, default qemu-user and container).  For the container tier,
"cold" is the first start from a cached root filesystem with no image yet (the import), since
the image store is the engine's, not archsmoke's cache.

Needs root, and the network (Debian archive, package index) for the cold runs.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from archsmoke.binary import UV
from archsmoke.host.engine import detect
from archsmoke.tiers.container.images import imported_ref
from archsmoke.plugin.installs import Installs
from archsmoke.plugin.placements import Placements
from archsmoke.plugin.run_config import Options, RunConfig
from archsmoke.tiers import DEFAULT_TIER


def one_pass(arch: str, cache_dir: Path, version: str, runner: str) -> tuple[float, float, int]:
    begun = time.monotonic()
    config = RunConfig(Options(arches=[arch], releases=[version], cache_dir=cache_dir, runner=runner),
                       sink=lambda line: None)
    placements = Placements(config)
    with placements.started(config.placements[0]) as runner:
        installed = Installs(config, placements).installed(runner, UV)
        runner.run(installed.command("--version"), env=installed.env).check()
        emulated = sum(result.duration for result in runner.history)
        commands = len(runner.history)
    return time.monotonic() - begun, emulated, commands


def transport_pass(arch: str, cache_dir: Path | None, runner: str, count: int = 20) -> tuple[float, float]:
    """(seconds from asking for a started target until it answers, warm; median seconds of an emulated `true`)."""
    config = RunConfig(Options(arches=[arch], cache_dir=cache_dir, runner=runner), sink=lambda line: None)
    placement = config.placements[0]
    config.builder.ensure(placement.target)  # built and checked outside the timing
    begun = time.monotonic()
    with Placements(config).started(placement) as started:
        ready = time.monotonic() - begun
        times = sorted(started.run(["true"]).check().duration for _ in range(count))
    return ready, times[len(times) // 2]


def cold_pass(arch: str, cache_dir: Path | None, version: str, runner: str) -> float:
    if runner != "container":
        with tempfile.TemporaryDirectory(prefix="archsmoke-bench-") as empty:
            return one_pass(arch, Path(empty), version, runner)[0]
    config = RunConfig(Options(arches=[arch], cache_dir=cache_dir, runner=runner), sink=lambda line: None)
    rootfs = config.builder.ensure(config.targets[0])
    engine = detect()
    engine.run("rmi", "--force", imported_ref(rootfs), check=False)
    return one_pass(arch, cache_dir, version, runner)[0]


REPO = Path(__file__).resolve().parent.parent


def run_suite(arches: list[str], version: str, extra: list[str], stats: Path) -> tuple[float, dict]:
    for old in stats.parent.glob(stats.name + "*"):
        old.unlink()
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *[f"--arch={a}" for a in arches],
               f"--release=uv={version}", f"--archsmoke-stats={stats}", *extra, str(REPO / "tests/smoke/uv")]
    begun = time.monotonic()
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
    wall = time.monotonic() - begun
    if result.returncode != 0:
        sys.exit(f"the smoke suite failed ({' '.join(command)}):\n{result.stdout[-3000:]}")
    rows: dict = {}
    for path in stats.parent.glob(stats.name + "*"):
        rows.update(json.loads(path.read_text()))
    return wall, rows


def suite_benchmark(arches: list[str], version: str, runners: list[str], parallel: bool = True) -> None:
    with tempfile.TemporaryDirectory(prefix="archsmoke-bench-") as scratch:
        stats = Path(scratch) / "stats.json"
        print(f"\n{'arch':<14}{'runner':<11}{'wall s':>8}{'target s':>10}{'emulated s':>12}{'overhead s':>12}"
              f"{'overhead':>10}{'cmds':>6}")
        walls: dict[tuple[str, str], float] = {}
        for runner in runners:
            tier = ["--runner", runner]
            run_suite(arches, version, tier, stats)  # warm everything up
            for arch in arches:
                wall, rows = run_suite([arch], version, tier, stats)
                walls[(runner, arch)] = wall
                row = rows[arch if runner == DEFAULT_TIER else f"{arch}-{runner}"]
                extra = row["target_seconds"] - row["command_seconds"]
                print(f"{arch:<14}{runner:<11}{wall:>8.1f}{row['target_seconds']:>10.1f}{row['command_seconds']:>12.1f}"
                      f"{extra:>12.2f}{extra / row['command_seconds']:>10.1%}{row['commands']:>6}", flush=True)
        for runner in runners[1:]:
            for arch in arches:
                print(f"{arch:<14}{runner:<11}suite {walls[(runner, arch)] / walls[(runners[0], arch)]:.2f}x "
                      f"the {runners[0]} tier's")
        for runner in runners if parallel else []:
            tier = ["--runner", runner]
            serial, _ = run_suite(arches, version, tier, stats)
            parallel, _ = run_suite(arches, version, [*tier, "-n", "2"], stats)
            print(f"\n{runner}: all {len(arches)} arches, one after another: {serial:.1f} s; "
                  f"pytest-xdist -n 2: {parallel:.1f} s; speed-up {serial / parallel:.2f}x", flush=True)


def _per_placement(junit: Path, placements: list[str]) -> dict[str, tuple[int, float]]:
    """(tests, their seconds: setup, call and teardown) per placement, from the run's JUnit file."""
    from xml.etree import ElementTree

    from archsmoke.plugin.verdict import placement_pattern

    pattern = placement_pattern(placements)
    found: dict[str, tuple[int, float]] = {}
    for case in ElementTree.parse(junit).iter("testcase"):
        match = pattern.search(case.get("name", ""))
        if match:
            tests, seconds = found.get(match.group(1), (0, 0.0))
            found[match.group(1)] = (tests + 1, seconds + float(case.get("time", 0)))
    return found


def main_command_benchmark(arches: list[str], version: str) -> None:
    """The README's main command as users run it (`pytest --arch ARCH -n 2`: each arch on the tiers it needs,
    side by side), warm; each placement's own time in that run, and the run's wall time over its qemu-user
    placement's (the cost of the true verdict over the fast one, measured in one run on one machine)."""
    with tempfile.TemporaryDirectory(prefix="archsmoke-bench-") as scratch:
        stats, junit = Path(scratch) / "stats.json", Path(scratch) / "junit.xml"
        print(f"\nthe main command, warm (uv {version}; pytest -n 2; a placement's 'target s' is from asking for it "
              "until it stopped, 'tests s' its tests' own setup, call and teardown)")
        print(f"{'arch':<10}{'placement':<14}{'tier':<11}{'tests':>6}{'tests s':>9}{'s/test':>8}{'target s':>10}"
              f"{'cmds':>6}{'wall s':>8}{'ratio':>7}")
        for arch in arches:
            run_suite([arch], version, ["-n", "2"], stats)  # warm everything up
            wall, rows = run_suite([arch], version, ["-n", "2", f"--junitxml={junit}"], stats)
            split = _per_placement(junit, list(rows))
            fast = next(row for row in rows.values() if row["runner"] == DEFAULT_TIER)
            for name, row in sorted(rows.items()):
                tests, seconds = split.get(name, (0, 0.0))
                last = name == sorted(rows)[-1]
                print(f"{arch:<10}{name:<14}{row['runner']:<11}{tests:>6}{seconds:>9.1f}{seconds / max(tests, 1):>8.2f}"
                      f"{row['target_seconds']:>10.1f}{row['commands']:>6}"
                      + (f"{wall:>8.1f}{wall / fast['target_seconds']:>6.2f}x" if last else ""), flush=True)
            for name, row in sorted(rows.items()):
                top = sorted(row["programs"].items(), key=lambda item: -item[1][1])[:5]
                print(f"{'':<10}{name:<14}where its commands' time went: "
                      + ", ".join(f"{program} {count}x {seconds:.1f} s" for program, (count, seconds) in top))
            alone, _ = run_suite([arch], version, ["-n", "2", "--runner", DEFAULT_TIER], stats)
            print(f"{arch:<10}{'qemu-user placement alone':<42}{alone:>27.1f}   the main command "
                  f"{wall / alone:.2f}x it", flush=True)
        print("ratio: the main command's wall time over its qemu-user placement's target time in the same run, and "
              "over a run of that placement alone (aim: at most 1.2x)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("arches", nargs="*", default=["ppc64le", "s390x", "aarch64", "armv7", "i386", "x86_64"])
    parser.add_argument("--release", dest="uv_version", default="0.13.9", help="uv release to use")
    parser.add_argument("--runs", type=int, default=3, help="warm runs per arch (the median is shown)")
    parser.add_argument("--no-cold", action="store_true", help="skip the cold runs (no network needed)")
    parser.add_argument("--cache-dir", type=Path, help="warm cache to use (default: the normal one)")
    parser.add_argument("--no-suite", action="store_true", help="skip part 2 (the smoke suite)")
    parser.add_argument("--runners", default="qemu-user,container", help="tiers to measure (comma-separated; "
                        "the first is the baseline of the suite's ratios)")
    parser.add_argument("--no-parallel", action="store_true", help="skip the pytest-xdist comparison")
    parser.add_argument("--main-command", action="store_true",
                        help="only measure the README's main command per arch (its default tiers, -n 2), warm")
    args = parser.parse_args()
    if args.main_command:
        main_command_benchmark(args.arches, args.uv_version)
        return 0
    runners = args.runners.split(",")

    print(f"{'arch':<14}{'runner':<11}{'ready s':>8}{'true ms':>9}   (warm start to a usable target; an emulated "
          "`true` end to end, median of 20)")
    for runner in runners:
        for arch in args.arches:
            transport_pass(arch, args.cache_dir, runner)  # fill the cache (a VM's kernel and disk)
            ready, true = transport_pass(arch, args.cache_dir, runner)
            print(f"{arch:<14}{runner:<11}{ready:>8.2f}{true * 1000:>9.1f}", flush=True)
    print()
    print(f"{'arch':<14}{'runner':<11}{'cold s':>8}{'warm s':>8}{'emulated s':>12}{'overhead s':>12}{'overhead':>10}"
          f"{'cmds':>6}")
    for runner in runners:
        for arch in args.arches:
            cold = "-"
            if not args.no_cold:
                cold = f"{cold_pass(arch, args.cache_dir, args.uv_version, runner):.1f}"
            one_pass(arch, args.cache_dir, args.uv_version, runner)  # make sure the warm cache is filled
            runs = [one_pass(arch, args.cache_dir, args.uv_version, runner) for _ in range(args.runs)]
            wall, emulated, commands = sorted(runs)[len(runs) // 2]
            print(f"{arch:<14}{runner:<11}{cold:>8}{wall:>8.2f}{emulated:>12.2f}{wall - emulated:>12.2f}"
                  f"{(wall - emulated) / emulated:>10.1%}{commands:>6}", flush=True)
    if not args.no_suite:
        suite_benchmark(args.arches, args.uv_version, runners, parallel=not args.no_parallel)
    return 0


if __name__ == "__main__":
    sys.exit(main())
