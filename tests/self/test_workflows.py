"""The GitHub workflows, checked statically: actionlint (with shellcheck), zizmor, and our own rules."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from archsmoke.tiers.vm.spec import vm_spec

WORKFLOWS = sorted((Path(__file__).parents[2] / ".github/workflows").glob("*.yml"))
TOOLS = Path(sys.executable).parent

UNSAFE = """\
on: pull_request_target
permissions: write-all
jobs:
  x:
    runs-on: ubuntu-24.04
    steps:
      - uses: actions/checkout@v4
        with:
          ref: ${{ github.event.pull_request.head.sha }}
      - run: echo "${{ github.event.pull_request.title }}"
"""


def _actionlint(*paths):
    if shutil.which("shellcheck") is None:
        pytest.fail("shellcheck is missing: install with the README command")
    return subprocess.run([str(TOOLS / "actionlint"), *map(str, paths)], capture_output=True, text=True)


def _zizmor(*paths):
    return subprocess.run([str(TOOLS / "zizmor"), "--offline", "--no-progress", *map(str, paths)],
                          capture_output=True, text=True)


def test_there_are_the_two_workflows():
    assert {p.name for p in WORKFLOWS} == {"pull-request.yml", "nightly.yml"}


def test_actionlint_passes():
    result = _actionlint(*WORKFLOWS)
    assert result.returncode == 0, result.stdout + result.stderr


def test_zizmor_passes():
    result = _zizmor(*WORKFLOWS)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_linters_catch_an_unsafe_workflow(tmp_path):
    bad = tmp_path / ".github/workflows/bad.yml"
    bad.parent.mkdir(parents=True)
    bad.write_text(UNSAFE)
    linted = _actionlint(bad)
    assert linted.returncode != 0 and "potentially untrusted" in linted.stdout
    audited = _zizmor(bad)
    assert audited.returncode != 0 and "template-injection" in audited.stdout + audited.stderr


@pytest.mark.parametrize("path", WORKFLOWS, ids=[p.stem for p in WORKFLOWS])
def test_minimal_permissions_and_pinned_actions(path):
    workflow = yaml.safe_load(path.read_text())
    assert workflow["permissions"] == {}, "the default token must have no permissions"
    triggers = workflow[True]  # YAML reads the key `on` as true
    assert "pull_request_target" not in triggers
    for name, job in workflow["jobs"].items():
        assert "permissions" in job, f"job {name} must state its permissions"
        for permission, level in job["permissions"].items():
            assert permission in ("contents", "pull-requests") and level in ("read", "write"), (name, permission)
            assert level == "read" or (permission == "pull-requests" and name == "report")
        for step in job["steps"]:
            if "uses" in step:
                assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", step["uses"]), step["uses"]
            if "run" in step:
                assert "${{" not in step["run"], f"expression inside a shell script in job {name}: {step['run']}"


def test_the_nightly_runs_every_vm_target_on_the_vm_tier(catalog):
    nightly = yaml.safe_load(next(p for p in WORKFLOWS if p.name == "nightly.yml").read_text())
    included = nightly["jobs"]["smoke"]["strategy"]["matrix"]["include"]
    assert {row["arch"] for row in included if row["runner"] == "vm"} == \
        {t.name for t in catalog.targets.values() if vm_spec(t) is not None}


def test_jobs_keep_their_reports():
    pull_request = yaml.safe_load(next(p for p in WORKFLOWS if p.name == "pull-request.yml").read_text())
    smoke = pull_request["jobs"]["smoke"]
    assert set(smoke["strategy"]["matrix"]["arch"]) == {"ppc64le", "s390x", "aarch64", "armv7", "riscv64", "i386", "x86_64"}
    upload = next(s for s in smoke["steps"] if s.get("uses", "").startswith("actions/upload-artifact@"))
    assert upload["if"] == "always()"
    report_steps = " ".join(s.get("run", "") for s in pull_request["jobs"]["report"]["steps"])
    assert "python -m archsmoke report" in report_steps and "PATCH" in report_steps


def test_ci_runs_the_readmes_test_command_as_written():
    """CI must prove what a new user types: the README's second command is a line of .ci/run, verbatim."""
    root = Path(__file__).parents[2]
    readme_commands = [line.split("  #")[0].strip() for line in (root / "README.md").read_text().splitlines()
                       if line.startswith("./bootstrap && .venv/bin/pytest")]
    assert len(readme_commands) == 2, readme_commands
    assert readme_commands[1] in (root / ".ci/run").read_text().splitlines()
