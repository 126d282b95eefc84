"""`python -m archsmoke action`: what archsmoke's GitHub Action (action.yml) asks of the harness.

`plan` checks the action's inputs (given as ARCHSMOKE_INPUT_* environment variables: inputs never reach a
shell script as text) and writes what the later steps need to $GITHUB_OUTPUT: the targets, the key of the
Actions cache entry holding their root filesystems, the JUnit file's path and a file of the pytest arguments.
A bad input is one `::error::` line naming the input and its fix, exit 2, before anything runs.

`outputs` reads the run's JUnit file once the tests ended (passed, failed or never started) and writes the
report, the step summary and the action's outputs: the verdict and the counts.
"""

from __future__ import annotations

import glob
import os
import re
import shlex
from dataclasses import dataclass, fields
from pathlib import Path

from .. import rootfs
from ..errors import ConfigError
from ..targets import TargetCatalog
from ..tiers import TIERS
from . import junit, report

ENV_PREFIX = "ARCHSMOKE_INPUT_"
LABEL_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
NO_CODE_SUITE = "archsmoke.generic"


@dataclass(frozen=True)
class ActionInputs:
    arch: str
    binary: str = ""
    product: str = ""
    release: str = ""
    tests: str = ""
    runner: str = ""
    pytest_args: str = ""
    label: str = ""
    reports: str = "archsmoke-reports"

    @classmethod
    def from_environment(cls, environ: dict[str, str]) -> "ActionInputs":
        """Each input from ARCHSMOKE_INPUT_<NAME>; an empty one takes the field's default."""
        given = {f.name: environ.get(ENV_PREFIX + f.name.upper(), "").strip() for f in fields(cls)}
        return cls(**{name: value for name, value in given.items() if value or name == "arch"})


@dataclass(frozen=True)
class Plan:
    targets: tuple[str, ...]
    cache_key: str
    label: str
    junit: Path
    pytest_args: tuple[str, ...]


def _words(text: str) -> list[str]:
    return [word for word in re.split(r"[,\s]+", text) if word]


def roots_cache_key(keys: list[str]) -> str:
    """One Actions cache entry for the run's root filesystems: every root's own key in it, so any change to
    one of them (its packages, its Debian snapshot) makes a new entry."""
    return "archsmoke-rootfs-" + "+".join(sorted(keys))


def matched_builds(patterns: str, workspace: Path) -> list[Path]:
    """The files the `binary` input's globs (one per line, or separated by spaces) match, relative to the
    workspace; a pattern that matches no file is an error of its own."""
    found: list[Path] = []
    for pattern in patterns.split():
        matches = sorted(Path(m) for m in glob.glob(pattern, root_dir=workspace, recursive=True)
                         if (workspace / m).is_file())
        if not matches:
            raise ConfigError(f"input `binary`: no file matches {pattern!r} in {workspace}",
                              fix="check the path of your build artefacts (relative to the workspace), and "
                                  "download them (actions/download-artifact) before this step")
        found.extend(m for m in matches if m not in found)
    return found


def plan(inputs: ActionInputs, catalog: TargetCatalog, workspace: Path) -> Plan:
    if not inputs.arch:
        raise ConfigError("input `arch` is empty", fix="name the arches to test on, e.g. `arch: ppc64le,s390x`")
    try:
        targets = catalog.select(_words(inputs.arch))
    except ConfigError as error:
        raise ConfigError(f"input `arch`: {error.problem}", fix="name arches of that list in `arch`") from None
    if inputs.binary and inputs.release:
        raise ConfigError("inputs `binary` and `release` are both given: test your build or a published release, "
                          "not both", fix="remove one of them")
    if not (inputs.binary or inputs.release or inputs.tests):
        raise ConfigError("nothing to test: give `binary` (your build artefacts) or `release` (a published one)",
                          fix="e.g. `binary: dist/*` or `product: ruff` with `release: latest`")
    runners = _words(inputs.runner)
    for name in runners:
        if name not in TIERS:
            raise ConfigError(f"input `runner`: unknown tier {name!r}; known tiers: {', '.join(sorted(TIERS))}",
                              fix="leave it empty for archsmoke's default, or name known tiers")
    label = inputs.label or "-".join(t.name for t in targets)
    if not LABEL_PATTERN.fullmatch(label):
        raise ConfigError(f"input `label` {label!r} is not a plain name", fix="use letters, digits, '.', '_' and '-'")
    try:
        extra = shlex.split(inputs.pytest_args)
    except ValueError as error:
        raise ConfigError(f"input `pytest-args` cannot be split into words: {error}",
                          fix="quote each argument as a shell would") from None

    args = [*inputs.tests.split()] if inputs.tests else ["--pyargs", NO_CODE_SUITE]
    args += ["--arch", ",".join(t.name for t in targets)]
    if runners:
        args += ["--runner", ",".join(runners)]
    # NAME=VALUE words: pytest reads a word that starts with @ (an npm scope) as a file of arguments.
    for build in matched_builds(inputs.binary, workspace) if inputs.binary else []:
        args.append(f"--binary={build}")
    if inputs.product:
        args.append(f"--product={inputs.product}")
    if inputs.release:
        args.append(f"--release={inputs.release}")
    junit_file = Path(inputs.reports) / f"junit-{label}.xml"
    args += ["-p", "no:cacheprovider", "--junitxml", str(junit_file), "--archsmoke-logs", inputs.reports, *extra]
    key = roots_cache_key([rootfs.cache_key(t) for t in targets])
    return Plan(tuple(t.name for t in targets), key, label, junit_file, tuple(args))


def write_plan(found: Plan, output: Path, args_file: Path) -> None:
    args_file.write_bytes(b"".join(arg.encode() + b"\0" for arg in found.pytest_args))
    with open(output, "a") as handle:
        handle.write(f"targets={' '.join(found.targets)}\nkey={found.cache_key}\nlabel={found.label}\n"
                     f"junit={found.junit}\nargs={args_file}\n")


def outputs(reports: Path, label: str, run_url: str | None, output: Path, summary: Path | None,
            target_names: set[str]) -> dict[str, str]:
    """The report of this run (also when its JUnit file never came: "no results"), and the action's outputs."""
    results = junit.gathered([reports] if reports.is_dir() else [], target_names, [label], run_url)
    text = report.render(results, title=f"archsmoke ({label})")
    reports.mkdir(parents=True, exist_ok=True)
    (reports / "report.md").write_text(text)
    if summary is not None:
        with open(summary, "a") as handle:
            handle.write(text + "\n")
    verdict = "failed" if results.failed else "nothing tested" if results.nothing_tested else "passed"
    values = {"verdict": verdict, "passed": results.count("passed"), "failed": results.count("failed"),
              "errors": results.count("error"), "skipped": results.count("skipped"),
              "report": str(reports / "report.md")}
    with open(output, "a") as handle:
        handle.writelines(f"{name}={value}\n" for name, value in values.items())
    return {name: str(value) for name, value in values.items()}


def add_parser(commands) -> None:
    action = commands.add_parser("action", help="the steps of archsmoke's GitHub Action (action.yml)")
    steps = action.add_subparsers(dest="action", required=True)
    steps.add_parser("plan", help="check the action's inputs ($ARCHSMOKE_INPUT_*), write the plan to $GITHUB_OUTPUT")
    done = steps.add_parser("outputs", help="write the report, the step summary and the verdict to $GITHUB_OUTPUT")
    done.add_argument("reports", type=Path)
    done.add_argument("--label", required=True)
    done.add_argument("--run-url")


def _github_file(name: str) -> Path:
    value = os.environ.get(name)
    if not value:
        raise ConfigError(f"${name} is not set", fix="run this inside a GitHub Actions step (archsmoke's action.yml)")
    return Path(value)


def _command_data(text: str) -> str:
    """Text as a workflow command's message: one line, and nothing in it read as another command."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def run(args, catalog: TargetCatalog) -> int:
    if args.action == "plan":
        try:
            found = plan(ActionInputs.from_environment(dict(os.environ)), catalog, Path.cwd())
        except ConfigError as error:  # one line, which GitHub shows as the step's annotation
            said = error.problem + (f" (fix: {error.fix})" if error.fix else "")
            print("::error title=archsmoke bad input::" + _command_data(said))
            return error.exit_code
        temp = Path(os.environ.get("RUNNER_TEMP") or "/tmp")
        write_plan(found, _github_file("GITHUB_OUTPUT"), temp / f"archsmoke-args-{found.label}")
        print(f"archsmoke: pytest {shlex.join(found.pytest_args)}")
        return 0
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    said = outputs(args.reports, args.label, args.run_url, _github_file("GITHUB_OUTPUT"),
                   Path(summary) if summary else None, set(catalog.names))
    print("archsmoke: " + ", ".join(f"{name} {value}" for name, value in said.items() if name != "report"))
    return 0
