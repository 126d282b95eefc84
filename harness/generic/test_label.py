"""The build is what its label says (a wheel's platform tags, an npm package's name and `bin`, a release file's
name): users and installers choose builds by the label, so a contradiction reaches real machines."""

from __future__ import annotations

import pytest

from archsmoke.binary.label import claims_of, contradictions


def test_the_build_is_what_its_label_says(arch_target, binary_under_test):
    found = [*binary_under_test.defects, *contradictions(binary_under_test, arch_target)]
    if not found and not claims_of(binary_under_test):
        pytest.skip(f"{binary_under_test.origin} carries no label (no wheel tags, no arch in its name)")
    assert not found, f"{binary_under_test.origin}:\n" + "\n".join(f"- {item}" for item in found)
