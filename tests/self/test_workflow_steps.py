"""The workflows' own steps, run as GitHub's Ubuntu runners run them (see tests/workflow_runner.py): a sudo
that resets the environment, no Debian apt sources, bash -e, GITHUB_OUTPUT and friends, `if:` conditions.

They run up to where a network beyond the registries would be needed: the smoke job through installing
archsmoke and importing its root filesystem from the (stand-in) cache; the report jobs whole, with `gh`
recording the comment it would post.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from archsmoke import rootfs
from workflow_runner import Host, Job, linked_checkout

REPO = Path(__file__).resolve().parents[2]
WORKFLOWS = REPO / ".github" / "workflows"
PULL_REQUEST = WORKFLOWS / "pull-request.yml"
NIGHTLY = WORKFLOWS / "nightly.yml"
SMOKE_ARCH = "x86_64"  # one of the pull request matrix's arches, whose root is quick to export and import
EVENT = {"pull_request": {"number": 7, "head": {"repo": {"full_name": "archsmoke/archsmoke"}}}}
SMOKE_STEPS = ["actions/checkout", "Install archsmoke", "Root filesystem cache key", "Restore the root filesystem",
               "Build or import the root filesystem"]


@pytest.fixture
def host(tmp_path) -> Host:
    return Host(tmp_path / "host")


def _smoke_job(host, tmp_path, cache, catalog, workflow: Path) -> Job:
    target = catalog.get(SMOKE_ARCH)
    exported = tmp_path / "exported.tar"
    rootfs.export_entry(cache, target, exported)
    key = rootfs.cache_key(target)
    return Job(host, workflow, "smoke", linked_checkout(REPO, tmp_path / "workspace"), matrix={"arch": SMOKE_ARCH},
               event=EVENT, cache_hits={f"rootfs-{key}": exported}, stop_before="Smoke suite")


def _names(job: Job) -> list[str]:
    return [r.name.split("@")[0] for r in job.results]


def test_a_smoke_job_installs_archsmoke_and_imports_its_root_on_an_ubuntu_runner(host, tmp_path, cache, catalog,
                                                                                  built):
    built(SMOKE_ARCH)
    job = _smoke_job(host, tmp_path, cache, catalog, PULL_REQUEST)
    job.run()
    failed = [r for r in job.results if r.outcome != "success"]
    assert not failed, f"step {failed[0].name!r}: {failed[0].outcome}\n{failed[0].output[-3000:]}"
    assert _names(job) == SMOKE_STEPS
    key = rootfs.cache_key(catalog.get(SMOKE_ARCH))
    assert job.context.values["steps"]["rootfs"]["outputs"]["key"] == key
    assert (tmp_path / "workspace" / ".archsmoke-cache" / "rootfs" / key / "root").is_dir()
    install = job.outcome("Install archsmoke").output
    assert "Debian mirror for bookworm: http://deb.debian.org/debian" in install and "all checks passed" in install


def test_the_stand_ins_are_github_as_it_is_bootstrap_under_a_plain_sudo_fails(host, tmp_path, cache, catalog, built):
    """What the workflows did before: `sudo ./bootstrap` loses the mirror, and this host has no Debian sources."""
    built(SMOKE_ARCH)
    plain = tmp_path / "plain-sudo.yml"
    plain.write_text(PULL_REQUEST.read_text().replace("run: sudo -E ./bootstrap", "run: sudo ./bootstrap"))
    assert plain.read_text() != PULL_REQUEST.read_text()
    job = _smoke_job(host, tmp_path, cache, catalog, plain)
    job.run()
    install = job.outcome("Install archsmoke")
    assert install.outcome == "failure"
    assert "MISSING Debian mirror for bookworm" in install.output
    assert all(r.outcome == "skipped" for r in job.results[2:]), "later steps must not run after a failure"


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
    return Job(host, workflow, "report", linked_checkout(REPO, tmp_path / "report-workspace", except_names=(".venv",)),
               event=EVENT, **kwargs)


def test_when_no_results_arrive_the_comment_says_so_and_the_job_fails(host, tmp_path):
    """Every smoke job failed before testing: the earlier comment (maybe a pass) must be replaced."""
    job = _report_job(host, tmp_path, PULL_REQUEST, extra_env={"GH_EXISTING_COMMENT": "991"})
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
    job = _report_job(host, tmp_path, PULL_REQUEST)
    job.run()
    body = (job.files / "gh.log.body").read_text()
    assert "--method POST repos/archsmoke/archsmoke/issues/7/comments" in (job.files / "gh.log").read_text()
    assert "archsmoke ❌ failed" in body
    assert re.search(r"no results\*\* from ppc64le, s390x, aarch64, armv7, riscv64, i386: those runs ended", body)
    assert "test_uv_version.py::test_version_matches" in body or "test_uv_version.py" in body
    assert job.results[-1].outcome == "failure"


def test_a_cancelled_run_does_not_touch_the_comment(host, tmp_path):
    job = _report_job(host, tmp_path, PULL_REQUEST)
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


@pytest.mark.parametrize("path", [PULL_REQUEST, NIGHTLY], ids=["pull-request", "nightly"])
def test_every_sudo_keeps_the_environment(path):
    for name, job in yaml.safe_load(path.read_text())["jobs"].items():
        for step in job["steps"]:
            for line in step.get("run", "").splitlines():
                for word in re.findall(r"\bsudo\s+(\S+)", line):  # chown needs nothing from the environment
                    assert word in ("-E", "chown"), f"{path.name} job {name}: {line.strip()}"


def _labels(expected: str) -> list[str]:
    return [label for label in expected.replace(" ", ",").split(",") if label]


def test_the_reports_expect_exactly_the_smoke_jobs():
    pull = yaml.safe_load(PULL_REQUEST.read_text())["jobs"]
    assert _labels(pull["report"]["env"]["EXPECTED"]) == pull["smoke"]["strategy"]["matrix"]["arch"]
    nightly = yaml.safe_load(NIGHTLY.read_text())["jobs"]
    matrix = nightly["smoke"]["strategy"]["matrix"]
    jobs = [f"{a}-{r}-{s}" for r in matrix["runner"] for a in matrix["arch"] for s in matrix["image_source"]]
    jobs += [f"{i['arch']}-{i['runner']}-{i['image_source']}" for i in matrix["include"]]
    assert sorted(_labels(nightly["report"]["env"]["EXPECTED"])) == sorted(jobs)
    # The real machines' job runs only where the repository names machines, and is expected exactly then.
    assert nightly["machines"]["if"] == "${{ vars.ARCHSMOKE_SSH_HOSTS != '' }}"
    assert nightly["report"]["env"]["EXPECTED_MACHINES"] == \
        "${{ vars.ARCHSMOKE_SSH_HOSTS != '' && 'machines-ssh' || '' }}"
    assert "junit-machines-ssh.xml" in nightly["machines"]["steps"][3]["run"]
