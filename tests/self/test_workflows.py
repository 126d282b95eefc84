"""The GitHub workflows, checked statically: actionlint (with shellcheck), zizmor, and our own rules."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from archsmoke.tiers.vm.spec import vm_spec

ROOT = Path(__file__).parents[2]
WORKFLOWS = sorted((ROOT / ".github/workflows").glob("*.yml"))
ACTIONS = [ROOT / "action.yml", ROOT / ".github/actions/report/action.yml"]
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


def test_there_are_the_three_workflows():
    assert {p.name for p in WORKFLOWS} == {"pull-request.yml", "nightly.yml", "archsmoke.yml"}


def test_actionlint_passes():
    result = _actionlint(*WORKFLOWS)
    assert result.returncode == 0, result.stdout + result.stderr


def test_zizmor_passes():
    result = _zizmor(*WORKFLOWS, *ACTIONS)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_linters_catch_an_unsafe_workflow(tmp_path):
    bad = tmp_path / ".github/workflows/bad.yml"
    bad.parent.mkdir(parents=True)
    bad.write_text(UNSAFE)
    linted = _actionlint(bad)
    assert linted.returncode != 0 and "potentially untrusted" in linted.stdout
    audited = _zizmor(bad)
    assert audited.returncode != 0 and "template-injection" in audited.stdout + audited.stderr


def _pinned_or_own(uses: str) -> bool:
    """An action by commit, or one of this repository's own (`$/...`: the very commit that runs)."""
    return bool(re.fullmatch(r"[\w.-]+/[\w./-]+@[0-9a-f]{40}", uses)) or uses.startswith("$/")


def _check_steps(where: str, steps: list[dict]) -> None:
    for step in steps:
        if "uses" in step:
            assert _pinned_or_own(step["uses"]), f"{where}: {step['uses']}"
        if "run" in step:
            assert "${{" not in step["run"], f"expression inside a shell script in {where}: {step['run']}"


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
            # Only the job that comments writes; a job calling the reusable workflow grants it what its report needs.
            commenting = name == "report" or job.get("uses", "").endswith("/archsmoke.yml")
            assert level == "read" or (permission == "pull-requests" and commenting)
        if "uses" in job:
            assert _pinned_or_own(job["uses"]), job["uses"]
        _check_steps(f"job {name}", job.get("steps", []))


@pytest.mark.parametrize("path", ACTIONS, ids=["action", "report-action"])
def test_shellcheck_passes_on_the_actions_scripts(path, tmp_path):
    """actionlint checks the workflows' scripts, not a composite action's: each `run:` here, as bash runs it."""
    if shutil.which("shellcheck") is None:
        pytest.fail("shellcheck is missing: install with the README command")
    for index, step in enumerate(yaml.safe_load(path.read_text())["runs"]["steps"]):
        if "run" in step:
            script = tmp_path / f"step{index}.sh"
            script.write_text("#!/bin/bash\n" + step["run"])
            checked = subprocess.run(["shellcheck", "-s", "bash", str(script)], capture_output=True, text=True)
            assert checked.returncode == 0, f"{path.name}, step {step.get('name')}:\n{checked.stdout}"


@pytest.mark.parametrize("path", ACTIONS, ids=["action", "report-action"])
def test_the_actions_pin_what_they_use_and_expand_nothing_in_scripts(path):
    action = yaml.safe_load(path.read_text())
    assert action["runs"]["using"] == "composite"
    _check_steps(path.name, action["runs"]["steps"])
    for step in action["runs"]["steps"]:
        assert "run" not in step or step.get("shell") == "bash", step


def test_the_nightly_runs_every_vm_target_on_the_vm_tier(catalog):
    nightly = yaml.safe_load(next(p for p in WORKFLOWS if p.name == "nightly.yml").read_text())
    included = nightly["jobs"]["smoke"]["strategy"]["matrix"]["include"]
    assert {row["arch"] for row in included if row["runner"] == "vm"} == \
        {t.name for t in catalog.targets.values() if vm_spec(t) is not None}


def test_jobs_keep_their_reports():
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    steps = {s["name"]: s for s in action["runs"]["steps"]}
    upload = steps["Upload the JUnit file and logs"]
    assert upload["uses"].startswith("actions/upload-artifact@") and upload["if"].startswith("${{ always() &&")
    # Saved also when a test failed: actions/cache's own post step skips a failed job.
    save = steps["Save the root filesystems"]
    assert save["uses"].startswith("actions/cache/save@") and save["if"].startswith("${{ always() &&")
    reusable = yaml.safe_load((ROOT / ".github/workflows/archsmoke.yml").read_text())
    report_steps = " ".join(s.get("run", "") for s in reusable["jobs"]["report"]["steps"])
    report_action = (ROOT / ".github/actions/report/action.yml").read_text()
    assert "python\" -m archsmoke report" in report_action and "PATCH" in report_steps


def test_ci_runs_the_readmes_test_command_as_written():
    """CI must prove what a new user types: the README's second command is a line of .ci/run, verbatim."""
    root = Path(__file__).parents[2]
    readme_commands = [line.split("  #")[0].strip() for line in (root / "README.md").read_text().splitlines()
                       if line.startswith("./bootstrap && .venv/bin/pytest")]
    assert len(readme_commands) == 2, readme_commands
    assert readme_commands[1] in (root / ".ci/run").read_text().splitlines()
