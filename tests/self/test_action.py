"""archsmoke in another project's workflow: the action (action.yml) and the reusable workflow
(.github/workflows/archsmoke.yml), run as GitHub's runners run them (tests/workflow_runner.py).

The caller is a project that is not archsmoke (tests/self/caller/): its workflow builds a small C program for
s390x and armv7 with Debian's cross compilers, uploads each build as an artifact, and calls the reusable
workflow in seven lines; the run goes through every job (build, plan, one smoke job per arch with the action,
report) to the comment the `gh` stand-in records.  The root filesystems come from the stand-in Actions cache,
exported from this machine's cache under the key the action computes.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from archsmoke import rootfs
from archsmoke.cache import Cache
from archsmoke.cli.action import ActionInputs, plan, roots_cache_key
from archsmoke.errors import ConfigError
from workflow_runner import Host, Job, WorkflowRun

REPO = Path(__file__).resolve().parents[2]
CALLER = Path(__file__).resolve().parent / "caller"
ARCHES = ("s390x", "armv7")
EVENT = {"pull_request": {"number": 12, "head": {"repo": {"full_name": "someone/tiny"}}}}
TOOLS = Path(sys.executable).parent


@pytest.fixture(scope="module")
def exported(tmp_path_factory, cache, catalog, built) -> dict[str, Path]:
    """Each arch's root as `images export` writes it (what the action's cache entry holds)."""
    out = tmp_path_factory.mktemp("roots")
    files = {}
    for arch in ARCHES:
        built(arch)
        files[arch] = out / f"{rootfs.cache_key(catalog.get(arch))}.tar"
        rootfs.export_entry(cache, catalog.get(arch), files[arch])
    return files


def _seed_cache(host: Host, catalog, exported: dict[str, Path]) -> None:
    """The Actions cache as an earlier run of the action left it: one entry per arch, under the action's key."""
    for arch, tar in exported.items():
        key = roots_cache_key([rootfs.cache_key(catalog.get(arch))])
        (host.caches / key / "tree").mkdir(parents=True)
        (host.caches / key / "tree" / tar.name).hardlink_to(tar)


def _caller(tmp_path: Path) -> Path:
    """The caller's repository (a git repository, as actions/checkout gives it)."""
    repo = tmp_path / "tiny"
    shutil.copytree(CALLER, repo)
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run(["git", "-C", str(repo), "add", "-A"], check=True)
    return repo


def _run_caller(tmp_path, repo: Path, cflags: str = "") -> tuple[Host, WorkflowRun]:
    host = Host(tmp_path / "host")
    run = WorkflowRun(host, repo / ".github/workflows/ci.yml", repo, event=EVENT, repository="someone/tiny",
                      repositories={"archsmoke/archsmoke": REPO}, variables={"CFLAGS": cflags})
    return host, run


def _step(job: Job, name: str):
    """A step of the action in a job's results (composite steps are named `USES > NAME`)."""
    return next(r for r in job.results if r.name.endswith(f" > {name}"))


def _failures(run: WorkflowRun) -> list[str]:
    found = []
    for runs in [*run.jobs.values(), *(j for called in run.called.values() for j in called.jobs.values())]:
        for job in runs:
            found += [f"{job.name} {job.matrix}: {r.name}\n{r.output[-2500:]}" for r in job.results if r.outcome == "failure"]
    return found


def test_the_caller_workflow_is_short_and_passes_the_linters():
    workflow = CALLER / ".github/workflows/ci.yml"
    text = workflow.read_text()
    job = text[text.index("  archsmoke:"):]
    assert len([line for line in job.splitlines() if line.strip()]) < 15, job
    linted = subprocess.run([str(TOOLS / "actionlint"), str(workflow)], capture_output=True, text=True)
    assert linted.returncode == 0, linted.stdout + linted.stderr
    audited = subprocess.run([str(TOOLS / "zizmor"), "--offline", "--no-progress", str(workflow)],
                             capture_output=True, text=True)
    assert audited.returncode == 0, audited.stdout + audited.stderr


def test_a_project_that_is_not_archsmoke_gets_its_verdict_and_the_comment(tmp_path, catalog, exported):
    host, run = _run_caller(tmp_path, _caller(tmp_path))
    _seed_cache(host, catalog, exported)
    results = run.run()
    assert not _failures(run), "\n\n".join(_failures(run))
    assert results["build"]["result"] == "success" and results["archsmoke"]["result"] == "success"
    assert results["archsmoke"]["outputs"]["verdict"] == "passed"
    called = run.called["archsmoke"]
    assert [job.matrix["arch"] for job in called.jobs["smoke"]] == list(ARCHES)
    for job in called.jobs["smoke"]:
        arch = job.matrix["arch"]
        junit = host.artifacts / f"archsmoke-{arch}" / f"junit-{arch}.xml"
        assert junit.is_file(), sorted(p.name for p in host.artifacts.iterdir())
        text = junit.read_text()
        assert f'name="archsmoke_target" value="{arch}"' in text and 'failures="0"' in text and 'errors="0"' in text
        smoke = job.outcome("Smoke tests")
        assert smoke.outcome == "success"
        assert _step(job, "Save the root filesystems").outcome == "skipped"  # a cache hit: nothing to save
        assert "verdict passed" in smoke.output
    report = called.jobs["report"][0]
    body = (report.files / "gh.log.body").read_text()
    assert "--method POST repos/someone/tiny/issues/12/comments" in (report.files / "gh.log").read_text()
    assert body.startswith("<!-- archsmoke-report -->") and "archsmoke ✅ passed" in body, body[:2000]
    header = next(line for line in body.splitlines() if line.startswith("| test |"))
    assert "armv7" in header and "s390x" in header and "tiny" in body
    assert "archsmoke ✅ passed" in (report.files / "summary.md").read_text()


def test_a_build_that_dies_on_one_arch_fails_that_arch_and_the_cache_is_saved_anyway(tmp_path, catalog, exported):
    """The armv7 build aborts on --version: its job, the report and the comment say so; s390x passes.  With no
    cache entry to restore, each smoke job saves its roots although a test failed (actions/cache/save, always)."""
    host, run = _run_caller(tmp_path, _caller(tmp_path), cflags="-DTINY_CRASHES_ON_ARM")

    def roots_already_built(job: Job) -> None:  # what `images build` finds after a build: no mmdebstrap here
        if job.name == "smoke":
            rootfs.import_entry(Cache(job.files / "temp" / "archsmoke-cache"), exported[job.matrix["arch"]])

    run.before_job = roots_already_built
    results = run.run()
    assert results["build"]["result"] == "success"
    assert results["archsmoke"]["result"] == "failure" and results["archsmoke"]["outputs"]["verdict"] == "failed"
    smoke = {job.matrix["arch"]: job for job in run.called["archsmoke"].jobs["smoke"]}
    assert smoke["s390x"].succeeded and not smoke["armv7"].succeeded
    assert _step(smoke["armv7"], "Run the tests").outcome == "failure"
    assert "verdict failed" in _step(smoke["armv7"], "Report").output
    assert _step(smoke["armv7"], "Save the root filesystems").outcome == "success"
    assert sorted(host.saved) == sorted(roots_cache_key([rootfs.cache_key(catalog.get(a))]) for a in ARCHES)
    report = run.called["archsmoke"].jobs["report"][0]
    body = (report.files / "gh.log.body").read_text()
    assert "archsmoke ❌ failed" in body and "SIGABRT" in body, body[:3000]
    assert report.results[-1].outcome == "failure"


def _action_job(tmp_path, workspace_files: dict[str, bytes], step_with: dict, **host_options) -> Job:
    """A job of one step: the action, as another project's workflow would use it."""
    workflow = tmp_path / "project" / ".github/workflows/one.yml"
    workflow.parent.mkdir(parents=True)
    workflow.write_text(yaml.safe_dump({"on": "push", "permissions": {}, "jobs": {"one": {
        "runs-on": "ubuntu-24.04", "permissions": {"contents": "read"},
        "steps": [{"name": "archsmoke", "id": "archsmoke", "uses": "archsmoke/archsmoke@v1", "with": step_with}]}}}))
    workspace = tmp_path / "runner" / "workspace"
    for name, content in workspace_files.items():
        (workspace / name).parent.mkdir(parents=True, exist_ok=True)
        (workspace / name).write_bytes(content)
    return Job(Host(tmp_path / "host", **host_options), workflow, "one", workspace,
               repositories={"archsmoke/archsmoke": REPO})


@pytest.mark.parametrize("given, said", [
    ({"arch": "s390x", "binary": "dist/*.bin"}, "input `binary`: no file matches 'dist/*.bin'"),
    ({"arch": "s390x,mips64", "binary": "dist/tiny"}, "input `arch`: unknown arch 'mips64'; known arches: "),
    ({"arch": "s390x", "binary": "dist/tiny", "release": "latest", "product": "ruff"},
     "inputs `binary` and `release` are both given"),
], ids=["no-binary-matches", "unknown-arch", "binary-and-release"])
def test_bad_inputs_fail_the_step_with_one_line_and_no_report(tmp_path, given, said):
    job = _action_job(tmp_path, {"dist/tiny": b"\x7fELF not really"}, given)
    job.run()
    plan = _step(job, "Check the inputs")
    assert plan.outcome == "failure"
    errors = [line for line in plan.output.splitlines() if line.startswith("::error")]
    assert len(errors) == 1 and said in errors[0], plan.output
    assert "Traceback" not in plan.output
    assert job.results[-1].name == "archsmoke" and job.results[-1].outcome == "failure"
    later = [r for r in job.results if " > " in r.name and r.name.split(" > ")[1] not in (
        "Check the runner", "Install archsmoke", "Check the inputs")]
    assert later and all(r.outcome == "skipped" for r in later), [(r.name, r.outcome) for r in later]
    assert not list(job.host.artifacts.iterdir()) and not (job.files / "summary.md").exists()


def test_a_runner_that_is_not_ubuntu_is_refused_by_name(tmp_path):
    job = _action_job(tmp_path, {}, {"arch": "s390x", "release": "latest", "product": "ruff"}, ubuntu="debian-12")
    job.run()
    check = _step(job, "Check the runner")
    assert check.outcome == "failure"
    assert "::error title=archsmoke unsupported runner::archsmoke's action runs on GitHub's x86_64 Ubuntu runners " \
           "(ubuntu-24.04, ubuntu-22.04), not on debian-12" in check.output
    assert _step(job, "Install archsmoke").outcome == "skipped"


@pytest.mark.parametrize("ubuntu, bare_e", [("22.04", "keeps"), ("26.04", "ignored")])
def test_the_action_keeps_the_mirror_through_every_runners_sudo(tmp_path, ubuntu, bare_e):
    """Ubuntu 26.04's sudo ignores a bare -E: the action names what it keeps, so bootstrap finds the mirror on
    every image it accepts; `sudo -E` (what the workflows said before) loses it there."""
    # An arch archsmoke does not know: the run stops at the inputs, after the install this test is about.
    job = _action_job(tmp_path, {}, {"arch": "mips64", "release": "latest", "product": "ruff"},
                      ubuntu=ubuntu, bare_sudo_e=bare_e)
    job.run()
    install = _step(job, "Install archsmoke")
    assert install.outcome == "success", install.output[-3000:]
    assert "Debian mirror for bookworm: http://deb.debian.org/debian" in install.output
    if bare_e == "ignored":
        plain = Job(job.host, job.workflow, "one", tmp_path / "again" / "workspace")
        plain.definition = {"steps": [{"name": "bare -E", "run": f"sudo -E {REPO}/bootstrap",
                                       "env": {"ARCHSMOKE_DEBIAN_MIRROR": "http://deb.debian.org/debian"}}]}
        plain.run()
        assert plain.results[0].outcome == "failure" and "MISSING Debian mirror" in plain.results[0].output


def test_the_composite_runner_is_github_as_it_is(tmp_path):
    """What the runs above rely on: a composite action's inputs (defaults, required), outputs, if: and
    github.action_path, and an expression that is not understood stops the run instead of being ignored."""
    action = tmp_path / "repo" / "act"
    action.mkdir(parents=True)
    (action / "action.yml").write_text(yaml.safe_dump({"name": "x", "description": "x", "inputs": {
        "who": {"required": True}, "greeting": {"default": "hello"}}, "outputs": {
        "said": {"value": "${{ steps.say.outputs.said }}"}}, "runs": {"using": "composite", "steps": [
            {"id": "say", "name": "say", "shell": "bash", "env": {"WHO": "${{ inputs.who }}", "GREETING": "${{ inputs.greeting }}"},
             "run": 'echo "said=$GREETING $WHO from $(basename "$GITHUB_ACTION_PATH")" >> "$GITHUB_OUTPUT"; exit 3'},
            {"name": "never", "shell": "bash", "run": "echo never"},
            {"name": "always", "if": "${{ always() }}", "shell": "bash", "run": "echo always"}]}}))
    workflow = tmp_path / "repo" / ".github/workflows/w.yml"
    workflow.parent.mkdir(parents=True)
    workflow.write_text(yaml.safe_dump({"on": "push", "jobs": {"j": {"runs-on": "ubuntu-24.04", "outputs": {
        "got": "${{ steps.a.outputs.said }}"}, "steps": [
            {"id": "a", "uses": "$/act", "with": {"who": "${{ format('{0}-{1}', 'tiny', 's390x') }}"}},
            {"name": "after", "run": "echo after"}]}}}))
    job = Job(Host(tmp_path / "host"), workflow, "j", tmp_path / "ws" / "workspace")
    job.run()
    assert [(r.name, r.outcome) for r in job.results] == [
        ("$/act > say", "failure"), ("$/act > never", "skipped"), ("$/act > always", "success"), ("$/act", "failure"),
        ("after", "skipped")]
    assert job.outputs == {"got": "hello tiny-s390x from act"}
    workflow.write_text(workflow.read_text().replace("format(", "replace("))
    with pytest.raises(Exception, match="replace"):
        Job(Host(tmp_path / "host2"), workflow, "j", tmp_path / "ws2" / "workspace").run()


def test_archsmokes_own_workflows_go_through_the_action():
    pull_request = yaml.safe_load((REPO / ".github/workflows/pull-request.yml").read_text())
    assert pull_request["jobs"]["archsmoke"]["uses"] == "$/.github/workflows/archsmoke.yml"
    reusable = yaml.safe_load((REPO / ".github/workflows/archsmoke.yml").read_text())
    assert [s.get("uses") for s in reusable["jobs"]["smoke"]["steps"]][-1] == "$/."
    nightly = yaml.safe_load((REPO / ".github/workflows/nightly.yml").read_text())
    assert any(s.get("uses") == "$/." for s in nightly["jobs"]["smoke"]["steps"])
    assert re.search(r"\bsudo -E\b", (REPO / "action.yml").read_text()) is None


def test_the_plan_passes_each_input_as_one_word(tmp_path, catalog):
    """Pure logic: what `archsmoke action plan` hands pytest.  A scoped npm release stays one word (pytest would
    read a word that starts with @ as a file of arguments), globs expand in the workspace, and the default suite
    is the no-code one."""
    (tmp_path / "builds" / "tiny-s390x").mkdir(parents=True)
    (tmp_path / "builds" / "tiny-s390x" / "tiny").write_bytes(b"x")
    found = plan(ActionInputs(arch="x86_64, aarch64", release="@scope/addon-linux-{arch}-gnu==2.0.1"), catalog, tmp_path)
    assert found.targets == ("x86_64", "aarch64") and found.label == "x86_64-aarch64"
    assert found.pytest_args[:2] == ("--pyargs", "archsmoke.generic")
    assert "--release=@scope/addon-linux-{arch}-gnu==2.0.1" in found.pytest_args
    found = plan(ActionInputs(arch="s390x", binary="builds/*/**", tests="tests/mine", label="s390x",
                              pytest_args="-n 2 -k 'not slow'"), catalog, tmp_path)
    assert found.pytest_args[0] == "tests/mine" and "--binary=builds/tiny-s390x/tiny" in found.pytest_args
    assert found.pytest_args[-4:] == ("-n", "2", "-k", "not slow")
    assert found.junit == Path("archsmoke-reports/junit-s390x.xml")
    assert found.cache_key == "archsmoke-rootfs-" + rootfs.cache_key(catalog.get("s390x"))
    with pytest.raises(ConfigError, match="input `label` 'a b' is not a plain name"):
        plan(ActionInputs(arch="s390x", release="latest", product="ruff", label="a b"), catalog, tmp_path)
    with pytest.raises(ConfigError, match="input `runner`: unknown tier 'kvm'"):
        plan(ActionInputs(arch="s390x", release="latest", product="ruff", runner="kvm"), catalog, tmp_path)
    with pytest.raises(ConfigError, match="nothing to test"):
        plan(ActionInputs(arch="s390x"), catalog, tmp_path)


def test_archsmokes_own_pull_request_path_runs_its_suites_with_a_release(tmp_path, cache, catalog, built):
    """What pull-request.yml asks of the reusable workflow, on one arch: archsmoke's own tests (`tests:`) against
    a published release (`release:`), through the action, to the comment."""
    built("x86_64")
    host = Host(tmp_path / "host")
    exported = tmp_path / f"{rootfs.cache_key(catalog.get('x86_64'))}.tar"
    rootfs.export_entry(cache, catalog.get("x86_64"), exported)
    _seed_cache(host, catalog, {"x86_64": exported})
    run = WorkflowRun(host, REPO / ".github/workflows/archsmoke.yml", REPO, event={
        "pull_request": {"number": 7, "head": {"repo": {"full_name": "archsmoke/archsmoke"}}}},
        inputs={"arches": "x86_64", "artifacts": "", "binary": "*/**", "product": "",
                "release": "uv=0.13.9", "tests": "tests/smoke/uv/test_uv_version.py", "runner": "", "pytest-args": "",
                "debian-mirror": "http://deb.debian.org/debian", "comment": True})
    results = run.run()
    assert not _failures(run), "\n\n".join(_failures(run))
    assert results["report"]["result"] == "success" and results["report"]["outputs"]["verdict"] == "passed"
    body = (run.jobs["report"][0].files / "gh.log.body").read_text()
    assert "archsmoke ✅ passed" in body and "uv 0.13.9" in body and "test_uv_version.py::" in body, body[:2000]
