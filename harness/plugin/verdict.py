"""The run's verdict beyond pytest's own: a run whose tests on targets were all skipped proved nothing."""

from __future__ import annotations

import collections
import re

import pytest

from .state import active


def placement_pattern(placement_ids) -> re.Pattern:
    """Finds the placement in a test id (test_x[ppc64le-vm], test_x[rsa-s390x-2]): the leftmost one, and there the
    longest, so ppc64le-musl-vm wins over ppc64le-musl and ppc64le, and test_x[ppc64le-x86_64-manylinux] is on
    ppc64le.  An id alone can still mislead (a parameter before the placement that is named like a target): the
    xdist scheduler asks the workers instead (xdist.py)."""
    names = sorted(placement_ids, key=len, reverse=True)
    return re.compile(r"\[(?:.*?-)??(" + "|".join(map(re.escape, names)) + r")(?:-.*)?\]$")


NOTHING_TESTED = pytest.StashKey[str]()


def check_something_was_tested(session: pytest.Session) -> None:
    """A run whose tests on targets were all skipped proved nothing: it must not exit 0 (a green CI that ran
    nothing).  Bad input when the builds given were not what the suites test; else nothing to download."""
    state = active(session.config)
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    worker = hasattr(session.config, "workerinput")  # under xdist, the controller sees every worker's reports
    if state is None or reporter is None or worker or session.exitstatus != 0 or not state.placements:
        return
    pattern = placement_pattern(p.id for p in state.placements)
    reports = [r for kind in ("passed", "failed", "error", "skipped", "xfailed", "xpassed")
               for r in reporter.stats.get(kind, []) if pattern.search(r.nodeid.split("::")[-1])]
    if not reports or any(not r.skipped or hasattr(r, "wasxfail") for r in reports):
        return
    reasons = collections.Counter(r.longrepr[2] if isinstance(r.longrepr, tuple) else str(r.longrepr)
                                  for r in reports if r.skipped)
    given = ", ".join(b.origin for b in state.local_binaries)
    what = (f"the builds given ({given}) are not of the product the collected tests test" if state.local_binaries
            else "no test could run on any target")
    session.config.stash[NOTHING_TESTED] = (
        f"archsmoke: nothing was tested: every test on a target was skipped ({len(reports)} of them); "
        f"{what}. Reasons: " + "; ".join(f"{reason} ({count}x)" for reason, count in reasons.most_common(3))
        + ("\n  fix: pass a build of the product the suite tests (--product NAME for tests that declare none)"
           if state.local_binaries else "\n  fix: choose targets and a release that publishes builds for them"))
    session.exitstatus = 4 if state.local_binaries else 5
