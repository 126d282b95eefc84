"""Environments and packages: uv venv, uv pip install over HTTP, sdists, compile/sync, link modes, cache."""

import json
import posixpath

import pytest

from demo_packages import APP_RUNS

pytestmark = pytest.mark.needs_python

REPORT = ("import json, platform, sys, sysconfig; print(json.dumps({'machine': platform.machine(), "
          "'multiarch': sysconfig.get_config_var('MULTIARCH'), 'prefix': sys.prefix, 'base': sys.base_prefix}))")


def _machine(target) -> str:
    return target.run(["uname", "-m"]).check().stdout.strip()


def _venv(run_uv, path: str) -> str:
    run_uv("venv", path)
    return path


def _freeze(run_uv, venv: str) -> list[str]:
    lines = run_uv("pip", "freeze", env={"VIRTUAL_ENV": venv}).stdout.splitlines()
    return sorted(line for line in lines if line.strip())


def test_venv_uses_the_targets_python(target, run_uv, workdir, arch_target):
    venv = _venv(run_uv, f"{workdir}/.venv")
    report = json.loads(run_uv.python(venv, REPORT).stdout)
    assert report["multiarch"] == arch_target.multiarch
    assert report["machine"] == _machine(target)
    assert report["prefix"] == venv and report["base"] == "/usr"


def test_pip_install_over_http(target, run_uv, workdir, package_index):
    venv = _venv(run_uv, f"{workdir}/.venv")
    run_uv("pip", "install", "--index-url", package_index.http, "archsmoke-app", env={"VIRTUAL_ENV": venv})
    out = run_uv.python(venv, APP_RUNS).stdout
    assert out == f"archsmoke-app: hello test from {_machine(target)} (greet 1.0.0)\n"
    assert _freeze(run_uv, venv) == ["archsmoke-app==1.0.0", "archsmoke-greet==1.0.0"]
    assert any(path.endswith("archsmoke_app-1.0.0-py2.py3-none-any.whl") for path in package_index.index.requests)


def test_sdist_is_built_in_isolation(target, run_uv, workdir, package_index):
    venv = _venv(run_uv, f"{workdir}/.venv")
    run_uv("pip", "install", "--index-url", package_index.http, "archsmoke-source", env={"VIRTUAL_ENV": venv})
    out = run_uv.python(venv, "import archsmoke_source as s; print(s.BUILT_FROM_SDIST, s.hello())").stdout
    assert out == f"True hello sdist from {_machine(target)} (greet 1.0.0)\n"
    assert any("flit_core" in path for path in package_index.index.requests), "the build backend came from elsewhere"
    assert not any(line.startswith("flit") for line in _freeze(run_uv, venv)), "the backend leaked into the env"


def test_compile_then_sync_reproduces_the_environment(target, run_uv, workdir, package_index):
    target.run(["sh", "-c", f"cat > {workdir}/requirements.in"], stdin=b"archsmoke-app\n").check()
    run_uv("pip", "compile", "requirements.in", "-o", "requirements.txt", "--index-url", package_index.http, cwd=workdir)
    pinned = target.run(["cat", f"{workdir}/requirements.txt"]).check().stdout
    assert "archsmoke-app==1.0.0" in pinned and "archsmoke-greet==1.0.0" in pinned
    first = _venv(run_uv, f"{workdir}/first")
    second = _venv(run_uv, f"{workdir}/second")
    run_uv("pip", "install", "--index-url", package_index.http, "archsmoke-app", env={"VIRTUAL_ENV": first})
    run_uv("pip", "install", "--index-url", package_index.http, "archsmoke-greet==0.9.0", env={"VIRTUAL_ENV": second})
    run_uv("pip", "sync", "requirements.txt", "--index-url", package_index.http, cwd=workdir,
           env={"VIRTUAL_ENV": second})
    assert _freeze(run_uv, second) == _freeze(run_uv, first) == ["archsmoke-app==1.0.0", "archsmoke-greet==1.0.0"]


@pytest.mark.parametrize("mode", ["copy", "hardlink",
                                  pytest.param("symlink", marks=pytest.mark.uv_min("0.2.27", "--link-mode symlink"))])
def test_link_modes(target, run_uv, workdir, package_index, mode):
    venv = _venv(run_uv, f"{workdir}/{mode}")
    run_uv("pip", "install", "--link-mode", mode, "--index-url", package_index.http, "archsmoke-greet",
           env={"VIRTUAL_ENV": venv, "UV_CACHE_DIR": f"{workdir}/cache"})
    installed = run_uv.python(venv, "import archsmoke_greet, os; p = archsmoke_greet.__file__; "
                                    "print(os.path.islink(p), os.stat(p).st_nlink)").stdout.split()
    is_link, links = installed[0] == "True", int(installed[1])
    assert {"copy": (False, 1), "hardlink": (False, 2), "symlink": (True, links)}[mode] == (is_link, links)
    assert "greet 1.0.0" in run_uv.python(venv, "import archsmoke_greet; print(archsmoke_greet.hello())").stdout


@pytest.mark.uv_min("0.1.6", "`uv cache`")
def test_cache_shared_by_concurrent_installs_then_cleaned(target, run_uv, workdir, package_index, uv_env):
    cache = f"{workdir}/cache"
    shown = run_uv("cache", "dir", cwd="/", env={"UV_CACHE_DIR": cache}).stdout.strip()
    assert posixpath.join("/", shown) == cache  # early releases print it relative to the working directory
    for name in ("a", "b"):
        _venv(run_uv, f"{workdir}/{name}")
    both = " & ".join(
        f"VIRTUAL_ENV={workdir}/{name} {run_uv.installed.path} pip install --index-url {package_index.http} "
        f"archsmoke-app > {workdir}/{name}.log 2>&1" for name in ("a", "b"))
    result = target.run(f"{both} & wait %1; first=$?; wait %2; second=$?; echo $first $second",
                        env={**uv_env, "UV_CACHE_DIR": cache}).check()
    assert result.stdout.split() == ["0", "0"], target.run(f"cat {workdir}/a.log {workdir}/b.log").stdout
    for name in ("a", "b"):
        assert "greet 1.0.0" in run_uv.python(f"{workdir}/{name}", APP_RUNS).stdout
    files = f"find {cache} -type f ! -name .lock 2>/dev/null | wc -l"  # newer uv keeps its lock file
    assert int(target.run(files).check().stdout) > 0
    run_uv("cache", "clean", env={"UV_CACHE_DIR": cache})
    assert target.run(files).stdout.strip() == "0"
