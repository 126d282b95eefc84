"""`python -m archsmoke bisect`: the release that broke a target (good end older) or fixed it (bad end older).

Progress goes to stderr, step by step; stdout gets a Markdown table of every release tried and, last,
the answer: `first bad: X (last good: W)` or `first good: X (last bad: W)`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .. import bisect as bisecting
from ..binary.product import PRODUCTS, Product
from ..cache import Cache
from ..errors import ConfigError
from ..origins import Origins
from ..origins import options as origin_options
from ..targets import TargetCatalog
from .markdown import code, inline

DEFAULT_LOGS = Path("archsmoke-bisect")


def add_parser(commands) -> None:
    parser = commands.add_parser(
        "bisect", help="find the release that broke (or fixed) a target: "
                       "bisect --product uv --arch armv7 --good 0.2.10 --bad 0.2.0 [-- PYTEST ARGS]")
    parser.add_argument("--product", required=True, help="its name on the package index (uv, ruff, yours)")
    parser.add_argument("--arch", required=True, help="the target (one of vms/)")
    parser.add_argument("--good", required=True, metavar="VERSION", help="a release that passes")
    parser.add_argument("--bad", required=True, metavar="VERSION", help="a release that fails")
    parser.add_argument("--runner", help="tiers, as pytest's --runner (default: the target's default tiers)")
    for option in origin_options():
        parser.add_argument(option.flag, dest=option.dest, metavar=option.metavar, help=option.help)
    parser.add_argument("--logs", type=Path, default=DEFAULT_LOGS,
                        help=f"where each step's pytest output is kept (default: ./{DEFAULT_LOGS})")
    parser.add_argument("pytest_args", nargs=argparse.REMAINDER, metavar="-- PYTEST ARGS",
                        help="the tests to run at each step (default: tests/smoke/PRODUCT if it exists here, "
                             "else archsmoke's suite that needs no code, archsmoke.generic)")


def _selection(args: argparse.Namespace) -> tuple[str, ...]:
    given = [a for a in args.pytest_args if a != "--"] if args.pytest_args[:1] == ["--"] else args.pytest_args
    if given:
        return tuple(given)
    suite = Path("tests/smoke") / args.product
    return (str(suite),) if suite.is_dir() else ("--pyargs", "archsmoke.generic")


def _say(text: str) -> None:
    print(f"[bisect] {text}", file=sys.stderr, flush=True)


def table(answer: bisecting.Answer, skipped: list[tuple[str, str]]) -> list[str]:
    lines = ["| release | verdict | failing test | seconds | log |", "|---|---|---|---|---|"]
    rows = {version: verdict for version, verdict in answer.verdicts.items()}
    for version in sorted(rows, key=_version_key):
        verdict = rows[version]
        step = verdict.step
        failing = step.failing[0] if step.failing else ""
        if len(step.failing) > 1:
            failing += f" (+{len(step.failing) - 1})"
        state = verdict.state + (" (cached)" if step.cached else "")
        seconds = step.seconds + (step.rerun.seconds if step.rerun else 0)
        lines.append(f"| {version} | {state} | {code(failing) if failing else ''} | {seconds:.1f} | {code(step.log)} |")
    lines += [f"| {version} | not tried: {inline(why)} |  |  |  |" for version, why in skipped]
    return lines


def _version_key(text: str):
    from packaging.version import Version

    return Version(text)


def run(args: argparse.Namespace, catalog: TargetCatalog, cache: Cache) -> int:
    target = catalog.get(args.arch)
    origins = Origins({option.dest: getattr(args, option.dest) for option in origin_options()})
    product = PRODUCTS.get(args.product) or Product(args.product, executables=(args.product,))
    origin = origins.for_product(product)
    releases = bisecting.between(product, target, args.good, args.bad, origin)
    project = origin.project(product, target)
    for version, why in releases.skipped:
        _say(f"skipping {project} {version}: {why}")
    good_older = _version_key(args.good) < _version_key(args.bad)
    spec = bisecting.StepSpec(project, product.name, target, args.runner, _selection(args), tuple(origins.argv()),
                              Path.cwd())
    _say(f"{len(releases.versions)} releases of {project} from {releases.versions[0]} to {releases.versions[-1]} "
         f"on {target.name} ({args.runner or 'default tiers'}; tests: {' '.join(spec.selection) or 'pytest default'}); "
         f"looking for the first {'bad' if good_older else 'good'} one")

    def judge(version: str) -> bisecting.Step:
        _say(f"running {project} {version} ...")
        return bisecting.run_step(spec, version, cache, args.logs)

    def progress(done: int, about: int, version: str, verdict: bisecting.Verdict) -> None:
        step = verdict.step
        seconds = step.seconds + (step.rerun.seconds if step.rerun else 0)
        why = f": {step.failing[0]}" if step.failing else ""
        _say(f"step {done} of about {about}: {project} {version} {verdict.state}{why} "
             f"({'cached' if step.cached else f'{seconds:.0f} s'}; log {step.log})")

    try:
        answer = bisecting.bisect(releases.versions, bisecting.GOOD if good_older else bisecting.BAD, judge, progress)
    except bisecting.EndsDisagree as error:
        raise ConfigError(f"{error}, so {project} {args.good}..{args.bad} on {target.name} cannot be bisected "
                          f"(see the step's log in {args.logs})",
                          fix="pass a --good release that passes and a --bad one that fails (for this arch, tiers "
                              "and tests)") from None
    print("\n".join(table(answer, releases.skipped)))
    print()
    print(answer.line)
    return 0
