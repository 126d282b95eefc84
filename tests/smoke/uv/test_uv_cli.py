"""uv's command line on the target: help texts, the wheel's Python shim, shell completion."""

import subprocess

import pytest


def test_help(run_uv):
    out = run_uv("--help").stdout
    assert "Usage: uv" in out and "pip" in out and "venv" in out


@pytest.mark.uv_min("0.3.0", "uvx")
def test_uvx_help(run_uv, uv):
    if not uv.binary.extras_for(uv.product):
        pytest.skip("a bare uv executable was given, without uvx beside it")
    out = run_uv("--help", program="uvx").stdout
    assert "Usage: uvx" in out


def test_help_pip(run_uv):
    out = run_uv("help", "pip").stdout
    assert "pip" in out and "install" in out and "compile" in out


@pytest.mark.needs_python
def test_python_shim_finds_the_binary(target, uv, uv_binary):
    if uv_binary.kind != "wheel":
        pytest.skip(f"`python -m uv` needs uv installed from its wheel, not a bare {uv_binary.kind}")
    shim = target.run([f"{uv.bin_dir}/python", "-m", "uv", "--version"], env=uv.env).check().stdout
    direct = target.run(uv.command("--version"), env=uv.env).check().stdout
    assert shim == direct


@pytest.mark.uv_min("0.1.6", "`uv generate-shell-completion`")
def test_bash_completion_parses(target, run_uv, workdir):
    script = run_uv("generate-shell-completion", "bash").stdout
    assert "complete" in script and len(script) > 1000
    if target.run("command -v bash").exit_code != 0:
        # A root without bash (the musl roots): parsing is arch-independent, so the host's bash checks it.
        syntax = subprocess.run(["bash", "-n"], input=script, capture_output=True, text=True)
        assert syntax.returncode == 0, syntax.stderr
        sourced = subprocess.run(["bash"], input=f"{script}\ncomplete -p uv\n", capture_output=True, text=True)
        assert sourced.returncode == 0 and "uv" in sourced.stdout, sourced.stderr
        return
    target.run(["sh", "-c", f"cat > {workdir}/uv.bash"], stdin=script.encode()).check()
    target.run(["bash", "-n", f"{workdir}/uv.bash"]).check()
    # and it really defines the completion when sourced
    out = target.run(["bash", "-c", f". {workdir}/uv.bash && complete -p uv"]).check().stdout
    assert "uv" in out


@pytest.mark.uv_min("0.1.6", "`uv cache`")
def test_cache_commands(target, run_uv, workdir):
    cache = f"{workdir}/cache"
    shown = run_uv("cache", "dir", cwd="/", env={"UV_CACHE_DIR": cache}).stdout.strip()
    assert shown.lstrip("/") == cache.lstrip("/")  # early releases print it relative to the working directory
    target.run(f"mkdir -p {cache}/wheels-v0 && echo x > {cache}/wheels-v0/leftover").check()
    run_uv("cache", "clean", env={"UV_CACHE_DIR": cache})
    assert target.run(f"find {cache} -type f ! -name .lock 2>/dev/null | wc -l").check().stdout.strip() == "0"
