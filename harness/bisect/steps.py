"""One bisect step: the pytest run a user would make for one release, its log kept, its result cached.

A step's result is cached under everything that decides it: the product, release, target (and its root
filesystem's content key), tiers, test selection, index and archsmoke's own version, so a repeated
bisect answers from the cache.  A failing step is run a second time: one that passes then is flaky.
"""

from __future__ import annotations

import functools
import hashlib
import shutil
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ElementTree
from dataclasses import asdict, dataclass
from pathlib import Path

from .. import rootfs
from ..rootfs.build import die_with_parent
from ..binary import PRODUCTS
from ..cache import Cache, content_key
from ..errors import HarnessError
from ..targets import Target
from .search import Step

KIND = "bisect-steps"
LOG = "step.log"
PASSED, FAILED = 0, 1  # pytest's exit codes for "all passed" and "some test failed"


NO_TESTS = 5  # pytest's "no tests collected" (archsmoke's own 5 is a download that failed)


class StepError(HarnessError):
    """A step that neither passed nor failed a test: the run itself could not be made."""

    exit_code = 1
    log: Path | None = None


@dataclass(frozen=True)
class StepSpec:
    """What every step of one bisect shares."""

    project: str  # the package index's (or npm's) name for the product's builds
    product: str
    target: Target
    tiers: str | None  # --runner, or None for the default tiers
    selection: tuple[str, ...]  # pytest arguments: paths, -k, ...
    origins: tuple[str, ...]  # the origins' options, as a step passes them on (--index-url URL ...)
    cwd: Path

    def key(self, version: str) -> str:
        definition = hashlib.sha256(self.target.source.read_bytes()).hexdigest()
        return content_key({"project": self.project, "product": self.product, "version": version, "target": self.target.name,
                            "rootfs": rootfs.cache_key(self.target), "definition": definition,
                            "tiers": self.tiers or "default", "selection": list(self.selection),
                            "origins": list(self.origins),
                            "archsmoke": archsmoke_digest(),
                            "cwd": str(self.cwd)})

    def argv(self, version: str, junit: Path, cache: Cache) -> list[str]:
        # A product archsmoke knows is named (the no-code suite needs it; another product's tests keep their own
        # release); one a project's conftest defines (archsmoke_product) cannot be, and is its suite's only one.
        known = self.product in PRODUCTS
        return [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *self.selection,
                "--arch", self.target.name, *(["--product", self.product] if known else []),
                "--release", f"{self.product}={version}" if known else version, "--cache-dir", str(cache.root),
                *(["--runner", self.tiers] if self.tiers else []),
                *self.origins, f"--junitxml={junit}"]


@functools.cache
def archsmoke_digest() -> str:
    """archsmoke's own code and targets: a step's result is reused only by the archsmoke that made it
    (its version alone would not do in an editable install, whose code changes under one version)."""
    package = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for path in sorted(p for p in package.rglob("*") if p.suffix in (".py", ".yaml") and p.is_file()):
        digest.update(str(path.relative_to(package)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:24]


def tests_in(junit: Path) -> int | None:
    """How many tests a JUnit file says ran (None: no readable file)."""
    try:
        return sum(1 for _ in ElementTree.parse(junit).getroot().iter("testcase"))
    except (OSError, ElementTree.ParseError):
        return None


def failing_tests(junit: Path) -> tuple[tuple[str, ...], str]:
    """(ids of the tests that failed or errored, the first one's message) from a JUnit file."""
    try:
        root = ElementTree.parse(junit).getroot()
    except (OSError, ElementTree.ParseError):
        return (), ""
    failing, message = [], ""
    for case in root.iter("testcase"):
        problem = case.find("failure")
        if problem is None:
            problem = case.find("error")
        if problem is not None:
            failing.append(f"{case.get('classname', '')}::{case.get('name', '')}")
            lines = (problem.get("message") or "").strip().splitlines()
            message = message or (lines[0][:200] if lines else "")
    return tuple(failing), message


def _run_once(spec: StepSpec, version: str, cache: Cache, work: Path, attempt: int) -> Step:
    junit = work / f"junit-{attempt}.xml"
    log = work / (LOG if attempt == 1 else f"rerun-{attempt}.log")
    started = time.monotonic()
    with log.open("wb") as output:
        output.write(f"$ {' '.join(spec.argv(version, junit, cache))}\n# in {spec.cwd}\n".encode())
        output.flush()
        # Should bisect die, even by SIGKILL, the step is told (SIGTERM: it stops its targets as on Ctrl-C).
        child = subprocess.Popen(spec.argv(version, junit, cache), cwd=spec.cwd, stdout=output,
                                 stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                 preexec_fn=lambda: die_with_parent(signal.SIGTERM))
        try:
            returncode = child.wait()
        except BaseException:  # Ctrl-C or SIGTERM: let the step stop its own targets, as a user's run would
            child.send_signal(signal.SIGINT)
            try:
                child.wait(timeout=60)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
            raise
    seconds = time.monotonic() - started
    if returncode not in (PASSED, FAILED):
        tail = log.read_text(errors="replace").strip().splitlines()[-6:]
        if returncode == NO_TESTS and tests_in(junit) == 0:
            error = StepError(f"the step for {version} ran no test: the tests chosen ({' '.join(spec.selection)}) "
                              f"collected none", fix="name the tests to run at each step after `--`")
            error.exit_code = 2
        else:
            error = StepError(f"the step for {version} could not be run: pytest exited {returncode}: "
                              + " / ".join(tail), fix=f"run it yourself: {' '.join(spec.argv(version, junit, cache)[1:])}")
            error.exit_code = returncode if 2 <= returncode <= 7 else 1  # archsmoke's own codes say whose fault
        error.log = log
        raise error
    failing, message = failing_tests(junit) if returncode == FAILED else ((), "")
    return Step(version, returncode == PASSED, failing, message, round(seconds, 1), str(log))


def _from_meta(meta: dict, log: str, cached: bool) -> Step:
    rerun = meta.get("rerun")
    return Step(meta["version"], meta["passed"], tuple(meta["failing"]), meta["message"], meta["seconds"], log,
                _from_meta(rerun, log, cached) if rerun else None, cached=cached)


def _meta(step: Step) -> dict:
    meta = asdict(step)
    meta.pop("cached")
    meta["log"] = Path(step.log).name
    if step.rerun is not None:
        meta["rerun"] = _meta(step.rerun)
    return meta


def run_step(spec: StepSpec, version: str, cache: Cache, logs: Path) -> Step:
    """The release's step, from the cache when this exact step ran before; its log copied into `logs`."""
    key = spec.key(version)
    logs.mkdir(parents=True, exist_ok=True)
    kept = logs / f"{spec.project.lstrip('@').replace('/', '-')}-{version}-{spec.target.name}.log"
    found = cache.lookup(KIND, key)
    cached = found is not None
    if found is None:
        def build(work: Path) -> dict:
            try:
                step = _run_once(spec, version, cache, work, 1)
                if not step.passed:
                    step = Step(**{**asdict(step), "rerun": _run_once(spec, version, cache, work, 2)})
            except StepError as error:  # the staging directory goes with the failed step: keep its log first
                if error.log is not None and error.log.exists():
                    shutil.copyfile(error.log, kept)
                    error.fix = f"see {kept}; {error.fix}" if error.fix else f"see {kept}"
                raise
            return _meta(step)

        found = cache.ensure(KIND, key, build=build)
    shutil.copyfile(found.path / LOG, kept)
    return _from_meta(found.meta, str(kept), cached)
