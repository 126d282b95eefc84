"""What a command's result says about it (tiers/results.py): the program a command ran, as the stats count it."""

import pytest

from archsmoke.tiers.results import program_of


@pytest.mark.parametrize("command, program", [
    ("/opt/archsmoke/uv/venv/bin/uv pip install archsmoke-app", "uv"),
    ("python3 -c pass", "python"),
    ("/tmp/archsmoke-tests/x/.venv/bin/python3.11 -c 'import sys'", "python"),
    ("/bin/sh -c 'kill -ILL $$'", "sh"),
    ("VIRTUAL_ENV=/tmp/a uv pip install x > a.log 2>&1 & wait", "sh"),
    ("rm -rf /tmp/archsmoke-tests/t && mkdir -p /tmp/archsmoke-tests/t", "rm"),
    ("", "sh"),
])
def test_the_program_a_command_ran(command, program):
    assert program_of(command) == program
