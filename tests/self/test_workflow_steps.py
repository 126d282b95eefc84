"""The workflows' own steps, run as GitHub's Ubuntu runners run them (see tests/workflow_runner.py): a sudo
that resets the environment, no Debian apt sources, bash -e, GITHUB_OUTPUT and friends, `if:` conditions.

The report jobs run whole, with `gh` recording the comment it would post; the action's install step under the
sudo GitHub has; the plan job of the reusable workflow.  The whole path from another project's workflow through
the action is in test_action.py.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from workflow_runner import Host, Job, linked_checkout

REPO = Path(__file__).resolve().parents[2]
WORKFLOWS = REPO / ".github" / "workflows"
PULL_REQUEST = WORKFLOWS / "pull-request.yml"
REUSABLE = WORKFLOWS / "archsmoke.yml"
NIGHTLY = WORKFLOWS / "nightly.yml"
SMOKE_ARCH = "x86_64"  # one of the pull request's arches, whose root is quick to export and import
EVENT = {"pull_request": {"number": 7, "head": {"repo": {"full_name": "archsmoke/archsmoke"}}}}
PR_ARCHES = "ppc64le,s390x,aarch64,armv7,riscv64,i386,x86_64"
ACTIONS = [REPO / "action.yml", REPO / ".github/actions/report/action.yml"]


@pytest.fixture
def host(tmp_path) -> Host:
    return Host(tmp_path / "host")


def _action_under(repo: Path, text: str) -> Path:
    """A copy of the repository (links to its files) whose action.yml is `text`."""
    copy = linked_checkout(REPO, repo)
    (copy / "action.yml").unlink()
    (copy / "action.yml").write_text(text)
    return copy


def _one_step_job(host, tmp_path, repo: Path, step_with: dict) -> Job:
    workflow = tmp_path / "project" / ".github/workflows/one.yml"
    workflow.parent.mkdir(parents=True)
    workflow.write_text(yaml.safe_dump({"on": "push", "permissions": {}, "jobs": {"one": {
        "runs-on": "ubuntu-24.04", "steps": [{"name": "archsmoke", "uses": "archsmoke/archsmoke@v1", "with": step_with}]}}}))
    return Job(host, workflow, "one", tmp_path / "runner" / "workspace", repositories={"archsmoke/archsmoke": repo})


def _composite_step(job: Job, name: str):
    return next(r for r in job.results if r.name.endswith(f" > {name}"))


def test_the_stand_ins_are_github_as_it_is_bootstrap_under_a_plain_sudo_fails(host, tmp_path):
    """What the workflows did before: `sudo ./bootstrap` loses the mirror, and this host has no Debian sources."""
    shipped = (REPO / "action.yml").read_text()
    plain = shipped.replace("sudo --preserve-env=ARCHSMOKE_DEBIAN_MIRROR,ARCHSMOKE_CACHE_DIR \"$GITHUB_ACTION_PATH/bootstrap\"",
                            "sudo \"$GITHUB_ACTION_PATH/bootstrap\"")
    assert plain != shipped
    job = _one_step_job(host, tmp_path, _action_under(tmp_path / "archsmoke", plain),
                        {"arch": "mips64", "release": "latest", "product": "ruff"})
    job.run()
    install = _composite_step(job, "Install archsmoke")
    assert install.outcome == "failure"
    assert "MISSING Debian mirror for bookworm" in install.output
    assert _composite_step(job, "Check the inputs").outcome == "skipped", "later steps must not run after a failure"


@pytest.fixture(scope="module")
def one_junit(tmp_path_factory, cache) -> Path:
    """A real JUnit file from a real run on x86_64, as the x86_64 smoke job uploads it."""
    out = tmp_path_factory.mktemp("artifact") / f"junit-{SMOKE_ARCH}.xml"
    done = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--cache-dir", str(cache.root),
                           "--arch", SMOKE_ARCH, "--release", "0.13.9", f"--junitxml={out}",
                           str(REPO / "tests/smoke/uv/test_uv_version.py")],
                          cwd=REPO, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:]
    return out


def _report_job(host, tmp_path, workflow: Path, **kwargs) -> Job:
    if workflow == REUSABLE:  # as the pull request workflow calls it, after smoke jobs that failed
        kwargs.update(inputs={"comment": True}, needs={"plan": {"result": "success", "outputs": {"expected": PR_ARCHES}},
                                                       "smoke": {"result": "failure", "outputs": {}}})
    return Job(host, workflow, "report", linked_checkout(REPO, tmp_path / "report-workspace", except_names=(".venv",)),
               event=EVENT, **kwargs)


def test_when_no_results_arrive_the_comment_says_so_and_the_job_fails(host, tmp_path):
    """Every smoke job failed before testing: the earlier comment (maybe a pass) must be replaced."""
    job = _report_job(host, tmp_path, REUSABLE, extra_env={"GH_EXISTING_COMMENT": "991"})
    assert job.runs(), "the report job must run after failed smoke jobs"
    job.run()
    body = (job.files / "gh.log.body").read_text()
    assert body.startswith("<!-- archsmoke-report -->")
    assert "archsmoke ❌ no results arrived" in body and "ppc64le, s390x, aarch64, armv7, riscv64, i386, x86_64" in body
    assert "https://github.com/archsmoke/archsmoke/actions/runs/4242" in body
    calls = (job.files / "gh.log").read_text()
    assert "--method PATCH repos/archsmoke/archsmoke/issues/comments/991" in calls
    assert job.outcome("Post or update the pull request comment").outcome == "success"
    assert job.results[-1].outcome == "failure", "a run without results must not pass"
    assert "no results arrived" in (job.files / "summary.md").read_text()


def test_missing_arches_are_named_beside_the_results_that_arrived(host, tmp_path, one_junit):
    (host.artifacts / f"archsmoke-{SMOKE_ARCH}").mkdir()
    (host.artifacts / f"archsmoke-{SMOKE_ARCH}" / one_junit.name).write_bytes(one_junit.read_bytes())
    job = _report_job(host, tmp_path, REUSABLE)
    job.run()
    body = (job.files / "gh.log.body").read_text()
    assert "--method POST repos/archsmoke/archsmoke/issues/7/comments" in (job.files / "gh.log").read_text()
    assert "archsmoke ❌ no results from ppc64le, s390x, aarch64, armv7, riscv64, i386**" in body
    assert re.search(r"no results\*\* from ppc64le, s390x, aarch64, armv7, riscv64, i386: those runs ended", body)
    assert "test_uv_version.py::test_version_matches" in body or "test_uv_version.py" in body
    assert job.results[-1].outcome == "failure"


def test_a_cancelled_run_does_not_touch_the_comment(host, tmp_path):
    job = _report_job(host, tmp_path, REUSABLE)
    assert not job.runs(cancelled=True)


def test_the_nightly_report_is_written_and_kept_when_no_results_arrive(host, tmp_path):
    job = _report_job(host, tmp_path, NIGHTLY)
    assert job.runs() and not job.runs(cancelled=True)
    job.run()
    report = host.artifacts / "archsmoke-report" / "report.md"
    assert report.exists(), [(r.name, r.outcome, r.output[-500:]) for r in job.results]
    assert "archsmoke ❌ no results arrived" in report.read_text() and "ppc64le-vm-rootfs" in report.read_text()
    assert job.outcome("Report (fails when anything failed or a job sent no results)").outcome == "failure"


# --- what the runs above rely on, for every job of both workflows ------------------------------------


def _steps(path: Path):
    """(where, step) for every step of a workflow's jobs or of a composite action."""
    definition = yaml.safe_load(path.read_text())
    if "runs" in definition:
        return [(path.name, step) for step in definition["runs"]["steps"]]
    return [(f"{path.name} job {name}", step) for name, job in definition["jobs"].items() for step in job.get("steps", [])]


@pytest.mark.parametrize("path", [PULL_REQUEST, REUSABLE, NIGHTLY, *ACTIONS],
                         ids=["pull-request", "reusable", "nightly", "action", "report-action"])
def test_every_sudo_names_the_environment_it_keeps(path):
    """GitHub's sudo resets the environment, and Ubuntu 26.04's ignores a bare -E: each sudo names what it keeps."""
    for where, step in _steps(path):
        for line in step.get("run", "").splitlines():
            for word in re.findall(r"\bsudo\s+(\S+)", line):  # chown needs nothing from the environment
                assert word.startswith("--preserve-env=") or word == "chown", f"{where}: {line.strip()}"


def _labels(expected: str) -> list[str]:
    return [label for label in expected.replace(" ", ",").split(",") if label]


def test_the_reports_expect_exactly_the_smoke_jobs():
    pull = yaml.safe_load(PULL_REQUEST.read_text())["jobs"]
    assert pull["archsmoke"]["with"]["arches"] == PR_ARCHES
    reusable = yaml.safe_load(REUSABLE.read_text())["jobs"]
    # One smoke job per arch, labelled by it; the report expects each arch the plan job read.
    assert reusable["smoke"]["strategy"]["matrix"]["arch"] == "${{ fromJSON(needs.plan.outputs.arches) }}"
    assert reusable["smoke"]["steps"][-1]["with"]["label"] == "${{ matrix.arch }}"
    merge = next(s for s in reusable["report"]["steps"] if s.get("id") == "merge")
    assert merge["with"]["expected"] == "${{ needs.plan.outputs.expected }}"
    nightly = yaml.safe_load(NIGHTLY.read_text())["jobs"]
    matrix = nightly["smoke"]["strategy"]["matrix"]
    assert nightly["smoke"]["steps"][-1]["with"]["label"] == \
        "${{ matrix.arch }}-${{ matrix.runner }}-${{ matrix.image_source }}"
    jobs = [f"{a}-{r}-{s}" for r in matrix["runner"] for a in matrix["arch"] for s in matrix["image_source"]]
    jobs += [f"{i['arch']}-{i['runner']}-{i['image_source']}" for i in matrix["include"]]
    assert sorted(_labels(nightly["report"]["env"]["EXPECTED"])) == sorted(jobs)
    # The real machines' job runs only where the repository names machines, and is expected exactly then.
    assert nightly["machines"]["if"] == "${{ vars.ARCHSMOKE_SSH_HOSTS != '' }}"
    assert nightly["report"]["env"]["EXPECTED_MACHINES"] == \
        "${{ vars.ARCHSMOKE_SSH_HOSTS != '' && 'machines-ssh' || '' }}"
    assert "junit-machines-ssh.xml" in nightly["machines"]["steps"][3]["run"]


def test_the_plan_job_reads_the_arches_and_refuses_none(host, tmp_path):
    for arches, expected in (("s390x, armv7", "s390x,armv7"), (" , ", None)):
        job = Job(host, REUSABLE, "plan", tmp_path / arches.strip(" ,").replace(",", "") / "workspace",
                  inputs={"arches": arches})
        job.run()
        if expected is None:
            assert job.results[0].outcome == "failure" and "input `arches` is empty" in job.results[0].output
        else:
            assert job.outputs == {"arches": '["s390x", "armv7"]', "expected": expected}
