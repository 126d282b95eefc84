"""Projects and tools: uv lock / sync / run, and uvx running a console script from the index."""

import pytest

pytestmark = pytest.mark.needs_python

PYPROJECT = """\
[project]
name = "demo"
version = "0.1.0"
requires-python = ">=3.8"
dependencies = ["archsmoke-app"]
"""


@pytest.mark.uv_min("0.4.0", "projects without a build system (virtual projects)")
def test_project_lock_sync_run(target, run_uv, workdir, package_index):
    target.run(["sh", "-c", f"cat > {workdir}/pyproject.toml"], stdin=PYPROJECT.encode()).check()
    run_uv("lock", cwd=workdir)
    lock = target.run(["cat", f"{workdir}/uv.lock"]).check().stdout
    assert 'name = "archsmoke-app"' in lock and 'name = "archsmoke-greet"' in lock
    run_uv("sync", cwd=workdir)
    out = run_uv("run", "python", "-c", "import archsmoke_greet; print(archsmoke_greet.hello('project'))",
                 cwd=workdir).stdout
    assert "hello project from" in out and "greet 1.0.0" in out
    run_uv("lock", cwd=workdir)
    assert target.run(["cat", f"{workdir}/uv.lock"]).check().stdout == lock, "uv.lock changed on a second lock"


@pytest.mark.uv_min("0.3.0", "uvx")
def test_uvx_runs_a_console_script(target, run_uv, uv, package_index):
    if not uv.binary.extras_for(uv.product):
        out = run_uv("tool", "run", "archsmoke-app", "tool").stdout
    else:
        out = run_uv("archsmoke-app", "tool", program="uvx").stdout
    machine = target.run(["uname", "-m"]).check().stdout.strip()
    assert out.strip().endswith(f"archsmoke-app: hello tool from {machine} (greet 1.0.0)")


@pytest.mark.uv_min("0.3.0", "`uv tool run`")
def test_tool_run(target, run_uv):
    out = run_uv("tool", "run", "--from", "archsmoke-app", "archsmoke-app", "again").stdout
    assert "hello again from" in out
