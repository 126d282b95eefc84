"""`python -m archsmoke bisect`: which published release broke a target, or fixed it."""

from .releases import Releases, between
from .search import BAD, DIFFERENT, FLAKY, GOOD, Answer, EndsDisagree, Step, Verdict, bisect
from .steps import StepError, StepSpec, run_step

__all__ = ["Answer", "BAD", "DIFFERENT", "EndsDisagree", "FLAKY", "GOOD", "Releases", "Step", "StepError", "StepSpec",
           "Verdict", "between", "bisect", "run_step"]
