#!/usr/bin/env python3
"""Benchmark: what archsmoke costs on top of the emulated work, cold (empty cache) and warm.

For each arch it runs the foundation's whole flow through the same API the
pytest plugin uses: ensure the root filesystem, fetch the uv wheel, start the
target, install uv with the target's pip, run `uv --version`, stop.

    cold        wall time with an empty cache (builds the root filesystem, downloads uv)
    warm        wall time with everything cached (median of --runs)
    emulated    sum of the durations of the commands run in the target (warm)
    overhead    (warm - emulated) / emulated: what the harness itself adds

Needs root and the network (Debian archive, package index) for the cold runs.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from harness.binary import install  # noqa: E402
from harness.session import Archsmoke, Options  # noqa: E402


def one_pass(arch: str, cache_dir: Path, version: str) -> tuple[float, float, int]:
    begun = time.monotonic()
    session = Archsmoke(Options(arches=[arch], uv_version=version, cache_dir=cache_dir), sink=lambda line: None)
    target = session.targets[0]
    binary = session.binary_for(target)
    with session.started(target) as runner:
        installed = install(binary, runner)
        runner.run(installed.command("--version"), env=installed.env).check()
        emulated = sum(result.duration for result in runner.history)
        commands = len(runner.history)
    return time.monotonic() - begun, emulated, commands


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("arches", nargs="*", default=["ppc64le", "s390x", "aarch64", "armv7", "i386", "x86_64"])
    parser.add_argument("--uv-version", default="0.13.9")
    parser.add_argument("--runs", type=int, default=3, help="warm runs per arch (the median is shown)")
    parser.add_argument("--no-cold", action="store_true", help="skip the cold runs (no network needed)")
    parser.add_argument("--cache-dir", type=Path, help="warm cache to use (default: the normal one)")
    args = parser.parse_args()

    print(f"{'arch':<9}{'cold s':>8}{'warm s':>8}{'emulated s':>12}{'overhead s':>12}{'overhead':>10}{'cmds':>6}")
    for arch in args.arches:
        cold = "-"
        if not args.no_cold:
            with tempfile.TemporaryDirectory(prefix="archsmoke-bench-") as empty:
                cold = f"{one_pass(arch, Path(empty), args.uv_version)[0]:.1f}"
        one_pass(arch, args.cache_dir, args.uv_version)  # make sure the warm cache is filled
        runs = [one_pass(arch, args.cache_dir, args.uv_version) for _ in range(args.runs)]
        wall, emulated, commands = sorted(runs)[len(runs) // 2]
        print(f"{arch:<9}{cold:>8}{wall:>8.2f}{emulated:>12.2f}{wall - emulated:>12.2f}"
              f"{(wall - emulated) / emulated:>10.1%}{commands:>6}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
