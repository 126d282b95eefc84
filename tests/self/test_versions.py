"""Is the printed version the release under test (harness/binary/versions.py): pure rules."""

import pytest

from archsmoke.binary.versions import names_release, release_numbers, same_release


@pytest.mark.parametrize("printed, package", [
    ("tool 2.0.0.build-7", "2.0.0.1"),  # a packaging re-release of upstream 2.0.0, printed with build words
    ("tool 2.0.0", "2.0.0.post1"),
    ("tool version 3.18.2 (abc 2025-01-01)", "3.18.2.post1"),
    ("clang-format version 20.1.7 (https://github.com/llvm/llvm-project 6146a88f)", "20.1.7"),
    ("v1.4.2-dirty", "1.4.2"),
    ("tool 1.4", "1.4.0"),  # two components in common
    ("mytool 0.13.9", "0.13.9"),
])
def test_the_same_release(printed, package):
    assert names_release(printed, package)


@pytest.mark.parametrize("printed, package", [
    ("tool 1.9.0", "2.0.0.1"),
    ("tool 2.0.1", "2.0.0.post1"),
    ("tool 2", "2.0.0"),  # one component says nothing
    ("built 2024-01-01 for linux", "2.0.0"),
    ("tool 12.0.0", "2.0.0"),  # not a suffix match
    ("tool 2.0.0", "12.0.0"),
])
def test_another_release(printed, package):
    assert names_release(printed, package) is None


def test_release_numbers_of_package_versions():
    assert release_numbers("2.0.0.post1") == (2, 0, 0)
    assert release_numbers("1.2.3rc1") == (1, 2, 3)
    assert same_release((2, 0, 0), (2, 0, 0, 1)) and not same_release((2,), (2, 0))
