"""archsmoke as another project gets it: the built wheel in a fresh virtual environment outside the
repository, and the README's "Testing your own binary" example run exactly as written."""

import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
RUFF_RELEASE = "0.15.11"  # measured good on every target; the nightly runs the newest


def _readme_file(name: str) -> str:
    """The README's code block that starts with `# NAME`."""
    for block in re.findall(r"```python\n(.*?)```", (REPO / "README.md").read_text(), re.S):
        if block.startswith(f"# {name}\n"):
            return block
    raise AssertionError(f"README.md has no python block starting with '# {name}'")


def _run(argv, cwd, timeout=900, **env):
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "PYTHON"))}
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=timeout, env={**clean, **env})


@pytest.fixture(scope="module")
def fresh_venv(tmp_path_factory):
    """archsmoke's wheel, built from this checkout, installed into a new venv (its dependencies from the index)."""
    work = tmp_path_factory.mktemp("installed")
    built = _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(work / "dist"), str(REPO)], work)
    assert built.returncode == 0, built.stderr
    wheel = next((work / "dist").glob("archsmoke-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "archsmoke/vms/ppc64le.yaml" in names and not any(n.startswith("harness/") for n in names), names
    # Every package of the source tree is in the wheel (pyproject lists them by hand: one was forgotten twice).
    sources = {str(p.parent.relative_to(REPO / "harness")) for p in (REPO / "harness").rglob("__init__.py")}
    for package in sources:
        member = "archsmoke/" + ("" if package == "." else package + "/") + "__init__.py"
        assert member in names, f"{member} is missing from the wheel: add it to pyproject.toml's packages"
    venv = work / "venv"
    assert _run([sys.executable, "-m", "venv", str(venv)], work).returncode == 0
    installed = _run([str(venv / "bin/pip"), "install", "-q", "--disable-pip-version-check", str(wheel)], work)
    assert installed.returncode == 0, installed.stderr
    return venv


@pytest.fixture
def project(tmp_path):
    """A project that is not archsmoke and not uv: the README's example files, nothing else."""
    for name in ("conftest.py", "test_smoke.py"):
        (tmp_path / name).write_text(_readme_file(name))
    return tmp_path


def test_the_installed_package_is_the_wheel_not_this_checkout(fresh_venv, project):
    where = _run([str(fresh_venv / "bin/python"), "-c", "import archsmoke; print(archsmoke.__file__)"], project)
    assert where.stdout.strip().startswith(str(fresh_venv)), where.stdout + where.stderr


def test_pytest_help_there_starts_nothing(fresh_venv, project):
    helped = _run([str(fresh_venv / "bin/pytest"), "--help"], project)
    assert helped.returncode == 0 and "--arch=ARCH" in helped.stdout, helped.stderr
    said = helped.stdout + helped.stderr
    assert "archsmoke: arches" not in said and "[start " not in said and "[rootfs " not in said


def test_the_readme_example_passes_on_ppc64le_and_s390x(fresh_venv, project, cache):
    result = _run([str(fresh_venv / "bin/pytest"), "-p", "no:cacheprovider", "--arch", "ppc64le,s390x",
                   "--release", RUFF_RELEASE, "--cache-dir", str(cache.root)], project)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    # ppc64le on qemu-user and on its VM (64 KiB pages), s390x on qemu-user: 2 tests each.
    assert "6 passed" in output and "Traceback" not in output, output
    assert ("archsmoke: ppc64le on qemu-user (emulated by qemu-ppc64le; proves CPU floor power8), vm (its own kernel under "
            "qemu-system-ppc64 (TCG); proves page size 64 KiB; CPU floor power8)") in output
    assert f"ruff {RUFF_RELEASE} (" in output  # the summary names the release each target ran


def test_doctor_there(fresh_venv, project):
    result = _run([str(fresh_venv / "bin/python"), "-m", "archsmoke", "doctor", "ppc64le", "s390x"], project)
    assert result.returncode == 0 and "all checks passed" in result.stdout, result.stdout + result.stderr


def test_the_suite_without_test_code_there(fresh_venv, tmp_path, cache):
    """In an empty directory, as the README's first step for a new project: ruff's release on s390x."""
    result = _run([str(fresh_venv / "bin/pytest"), "-p", "no:cacheprovider", "--pyargs", "archsmoke.generic",
                   "--product", "ruff", "--release", RUFF_RELEASE, "--arch", "s390x", "--cache-dir", str(cache.root)],
                  tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode == 0 and "5 passed" in output and "Traceback" not in output, output


def test_the_ssh_tier_there_on_an_emulated_s390x_machine(fresh_venv, tmp_path, cache, ssh_machines):
    """The no-code suite over ssh from the installed wheel: ruff's release on a machine (tests/sshd.py)."""
    machine = ssh_machines("s390x")
    result = _run([str(fresh_venv / "bin/pytest"), "-p", "no:cacheprovider", "--pyargs", "archsmoke.generic",
                   "--product", "ruff", "--release", RUFF_RELEASE, "--runner", "ssh", *ssh_machines.args(machine),
                   "--cache-dir", str(cache.root)], tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode == 0 and "5 passed" in output and "Traceback" not in output, output
    assert "[s390x-ssh]" in output or "s390x-ssh:" in output, output


def test_bisect_there_refuses_ends_that_do_not_exist(fresh_venv, tmp_path, cache):
    result = _run([str(fresh_venv / "bin/python"), "-m", "archsmoke", "--cache-dir", str(cache.root), "bisect",
                   "--product", "ruff", "--arch", "s390x", "--good", "0.15.11", "--bad", "0.15.999"], tmp_path)
    assert result.returncode == 2 and "ruff 0.15.999 is not a release on" in result.stderr, result.stderr
