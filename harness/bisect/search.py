"""The search itself: which release changed a target's verdict, over releases in version order.

Pure logic over a `judge(version) -> Step` function, so it is tested without running anything.  The
releases run from the older end to the newer; the older end's state ("good" or "bad") is the one
the search moves away from.  A step is only bisected on when it is the same failure as the bad end
(a failing test in common) or a pass; a release that fails differently, or whose outcome flips on a
rerun, is set aside and named, as git bisect's `skip` does, and the answer says when one of them
leaves it undecided.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

GOOD, BAD, DIFFERENT, FLAKY = "good", "bad", "fails differently", "flaky"


@dataclass(frozen=True)
class Step:
    """One release's run: passed, or the tests that failed (with the first failure's message)."""

    version: str
    passed: bool
    failing: tuple[str, ...] = ()
    message: str = ""
    seconds: float = 0.0
    log: str = ""
    rerun: "Step | None" = None  # the second run of a failing step
    cached: bool = False


@dataclass
class Verdict:
    step: Step
    state: str  # GOOD, BAD, DIFFERENT or FLAKY


@dataclass
class Answer:
    direction: str  # "first bad" (good end older) or "first good" (bad end older)
    first: str | None  # the first release in the newer end's state, None when undecided
    last: str | None  # the release before it, in the older end's state
    undecided: list[str] = field(default_factory=list)  # set-aside releases between them
    verdicts: dict[str, Verdict] = field(default_factory=dict)

    @property
    def line(self) -> str:
        opposite = "last good" if self.direction == "first bad" else "last bad"
        if self.first is not None and not self.undecided:
            return f"{self.direction}: {self.first} ({opposite}: {self.last})"
        candidates = ", ".join([*self.undecided, *([self.first] if self.first else [])])
        return (f"{self.direction}: one of {candidates} ({opposite}: {self.last}; "
                f"{', '.join(f'{v} {self.verdicts[v].state}' for v in self.undecided)})")


class EndsDisagree(Exception):
    """An end is not what the caller said it is."""


def classify(step: Step, bad_end: Step | None) -> str:
    if step.passed:
        return GOOD
    if step.rerun is not None and step.rerun.passed:
        return FLAKY
    if bad_end is None or set(step.failing) & set(bad_end.failing) or not (step.failing or bad_end.failing):
        return BAD
    return DIFFERENT


def bisect(versions: list[str], older_state: str, judge: Callable[[str], Step],
           progress: Callable[[int, int, str, Verdict], None] = lambda *a: None) -> Answer:
    """versions: oldest first, the two ends included; older_state: what the oldest is said to be."""
    if len(versions) < 2:
        raise ValueError("a bisect needs two releases")
    direction = "first bad" if older_state == GOOD else "first good"
    verdicts: dict[str, Verdict] = {}
    bad_index = 0 if older_state == BAD else len(versions) - 1
    good_index = len(versions) - 1 - bad_index
    lo, hi = 0, len(versions) - 1

    def run(version: str, bad_end: Step | None) -> Verdict:
        step = judge(version)
        verdict = Verdict(step, classify(step, bad_end))
        verdicts[version] = verdict
        remaining = max(0, 2 - len(verdicts)) + (hi - lo - 1).bit_length()  # the ends, then halvings
        progress(len(verdicts), len(verdicts) + remaining, version, verdict)
        return verdict

    bad_verdict = run(versions[bad_index], None)
    if bad_verdict.state == GOOD:
        raise EndsDisagree(f"the bad end {versions[bad_index]} passes")
    if bad_verdict.state == FLAKY:
        raise EndsDisagree(f"the bad end {versions[bad_index]} is flaky: it failed, then passed on a rerun")
    bad_end = bad_verdict.step
    good_verdict = run(versions[good_index], bad_end)
    if good_verdict.state != GOOD:
        raise EndsDisagree(f"the good end {versions[good_index]} fails"
                           + (f" ({', '.join(good_verdict.step.failing[:3])})" if good_verdict.step.failing else ""))
    set_aside: set[int] = set()
    while True:
        inner = [i for i in range(lo + 1, hi) if i not in set_aside]
        if not inner:
            break
        middle = (lo + hi) // 2
        index = min(inner, key=lambda i: (abs(i - middle), i))
        state = run(versions[index], bad_end).state
        if state in (DIFFERENT, FLAKY):
            set_aside.add(index)
        elif state == older_state:
            lo = index
        else:
            hi = index
    undecided = [versions[i] for i in range(lo + 1, hi) if i in set_aside]
    return Answer(direction, versions[hi], versions[lo], undecided, verdicts)
