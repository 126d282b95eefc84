"""The JUnit files of any number of runs, read back as one set of results: each test's outcome per target column,
and each target's identity from the properties archsmoke wrote (records.py's schema)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree.ElementTree import ParseError

from junitparser import Error, Failure, JUnitXml, JUnitXmlError, Properties, Skipped

from ..errors import ConfigError
from ..records import Property, gaps_in, identity_of

HOST = "(host)"  # tests that ran on no target: archsmoke's own


@dataclass
class Outcome:
    status: str
    seconds: float
    message: str = ""
    details: str = ""


@dataclass
class Results:
    cells: dict[tuple[str, str], Outcome] = field(default_factory=dict)
    targets: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)  # (column, product) -> identity
    files: int = 0  # JUnit files read
    missing: list[str] = field(default_factory=list)  # expected runs (smoke jobs) whose JUnit file never arrived
    run_url: str | None = None  # where the runs' own logs are (a CI run)

    @property
    def tests(self) -> list[str]:
        return sorted({test for test, _ in self.cells})

    @property
    def target_names(self) -> list[str]:
        return sorted({target for _, target in self.cells}, key=lambda t: (t == HOST, t))

    def count(self, status: str) -> int:
        return sum(o.status == status for o in self.cells.values())

    @property
    def tests_failed(self) -> bool:
        """A test failed or errored somewhere (runs that sent nothing aside)."""
        return any(o.status in ("failed", "error") for o in self.cells.values())

    @property
    def failed(self) -> bool:
        return bool(self.missing) or self.tests_failed

    @property
    def not_covered(self) -> list[str]:
        """What no tier of the runs proved, per target (each run says it for its own targets)."""
        found = []
        for identity in self.targets.values():
            for gap in gaps_in(identity.get("not_covered", "")):
                if gap not in found:
                    found.append(gap)
        return found

    @property
    def nothing_tested(self) -> bool:
        """No test ran on any target (only skips, or no archsmoke target at all): nothing was proven."""
        return not any(o.status != "skipped" for (_, target), o in self.cells.items() if target != HOST)


def _properties(case) -> dict[str, str]:
    found = {}
    for group in case.iterchildren(Properties):
        for prop in group:
            found[prop.name] = prop.value
    return found


def _split_id(name: str, classname: str, target: str | None, known: set[str],
              placement: str | None = None) -> tuple[str, str]:
    """("test_file.py::test_name[other params]", target) from a pytest test id."""
    module = classname.rsplit(".", 1)[-1]
    match = re.fullmatch(r"([^\[]+)(?:\[(.*)\])?", name)
    base, params = (match.group(1), match.group(2)) if match else (name, None)
    if params and placement and placement != target:  # ppc64le-vm: the tier is in the column, not the test's name
        params = re.sub(rf"(^|-){re.escape(placement)}(?=-|$)", rf"\1{target}", params, count=1)
    rest = params.split("-") if params else []
    if target is None:
        target = next((p for p in rest if p in known), None)
    if target in rest:
        rest.remove(target)
    label = f"{module}.py::{base}" + (f"[{'-'.join(rest)}]" if rest else "")
    return label, target or HOST


def _column(target: str, props: dict[str, str]) -> str:
    """One column per target and tier: the same arch on qemu-user and in a container are two results.
    Each tier names itself (archsmoke_tier_label); the default tier's column is the target alone."""
    label = props.get(Property.TIER_LABEL, "")
    return f"{target} ({label})" if label else target


JUNIT_PREFIX = "junit-"  # each run's file is junit-LABEL.xml: --expect names the labels


def junit_files(paths: list[Path]) -> list[Path]:
    """The files named, and every *.xml under the directories named (a CI's downloaded artifacts)."""
    found: list[Path] = []
    for path in paths:
        found.extend(sorted(path.rglob("*.xml")) if path.is_dir() else [path])
    for path in found:  # a FIFO or a device would be read forever
        if path.exists() and not path.is_file():
            raise ConfigError(f"{path} is not a regular file", fix="pass the files written by pytest --junitxml")
    return found


def missing_runs(files: list[Path], expected: list[str]) -> list[str]:
    """The expected labels with no junit-LABEL.xml among the files."""
    arrived = {f.name.removeprefix(JUNIT_PREFIX).removesuffix(".xml") for f in files}
    return [label for label in expected if label not in arrived]


def load(files: list[Path], known_targets: set[str]) -> Results:
    results = Results(files=len(files))
    for path in files:
        try:
            document = JUnitXml.fromfile(str(path))
        except (OSError, ParseError, JUnitXmlError, SyntaxError) as exc:  # lxml's XMLSyntaxError is a SyntaxError
            raise ConfigError(f"{path} is not a readable JUnit XML file ({exc})",
                              fix="pass the files written by pytest --junitxml") from None
        suites = document if isinstance(document, JUnitXml) else [document]
        for suite in suites:
            for case in suite:
                props = _properties(case)
                test, target = _split_id(case.name or "", case.classname or "", props.get(Property.TARGET),
                                         known_targets, props.get(Property.PLACEMENT))
                target = _column(target, props)
                if props.get(Property.TARGET):
                    row = (target, props.get(Property.PRODUCT, ""))
                    results.targets.setdefault(row, {}).update(identity_of(props))
                status, message, details = "passed", "", ""
                for result in case.result:
                    if isinstance(result, Error):
                        status = "error"
                    elif isinstance(result, Failure):
                        status = "failed"
                    elif isinstance(result, Skipped):
                        status = "skipped"
                    message, details = result.message or "", result.text or ""
                    if status in ("failed", "error"):
                        break
                results.cells[(test, target)] = Outcome(status, _seconds(case), message, details)
    return results


def _seconds(case) -> float:
    """A test case's time: a number of seconds, or 0 where the file says something else."""
    try:
        return max(0.0, float(case.time or 0))
    except (TypeError, ValueError):
        return 0.0


def gathered(paths: list[Path], known_targets: set[str], expected: list[str], run_url: str | None) -> Results:
    """The results of every JUnit file under `paths`, with the expected runs that sent none and the run's link:
    what `archsmoke report` and the action's outputs render."""
    files = junit_files(paths)
    results = load(files, known_targets)
    results.missing = missing_runs(files, expected)
    results.run_url = run_url
    return results
