"""One contract, held by every tier: a run can mix them, so a result must mean the same on each.

Each test runs on a ppc64le and an s390x (big-endian) target started on every tier (qemu-user, container
under podman and under docker, VM, and an emulated machine's sshd for the ssh tier), replacing the copies each tier's own tests used to carry: exit
codes and streams kept apart and exact, a command killed by a signal reads as -N, a command past its
budget is killed and the target stays usable, stdin, cwd and env arrive, files go in and out whole
with their mode, and a copy that cannot be made is a TargetError, never a raw OSError.  Paths the tests write go
through own_path: on a real machine, archsmoke writes only inside the run's work directory.
"""

from __future__ import annotations

import os

import pytest

from archsmoke.errors import TargetError
from archsmoke.host.engine import ENGINES
from archsmoke.tiers import TIERS, CommandFailed, RunnerOptions
from sshd import settings_values

# (tier, its options, the id's tier part): the container tier once per engine.
SETUPS = [(name, {}, name) for name in TIERS if name != "container"] + \
    [("container", {"engine": engine}, f"container-{engine}") for engine in ENGINES]
PLACES = [(setup, arch) for setup in SETUPS for arch in ("ppc64le", "s390x")]


@pytest.fixture(scope="module", params=PLACES, ids=[f"{arch}-{setup[2]}" for setup, arch in PLACES])
def started(request, built, catalog, cache):
    (tier_name, values, _), arch = request.param
    tier, target = TIERS[tier_name], catalog.get(arch)
    if tier_name == "ssh":
        machines = request.getfixturevalue("ssh_machines")
        values = settings_values(machines.args(machines(arch)))
    settings = tier.settings(values)
    tier.check(settings, catalog, [target])
    options = RunnerOptions(cache=cache, settings=settings)
    with tier.runner(target, built(arch) if tier.uses_rootfs(settings, target) else None, options) as runner:
        yield runner


def test_exit_code_and_streams_are_exact_and_apart(started):
    result = started.run("printf 'out\\n'; printf 'err\\n' >&2; exit 3")
    assert (result.exit_code, result.stdout, result.stderr) == (3, "out\n", "err\n")
    assert not result.ok and 0 < result.duration < started.target.timeouts.command
    assert result.where.startswith(f"{started.target.name} (")
    with pytest.raises(CommandFailed, match="exit code 3"):
        result.check()


@pytest.mark.parametrize("signal_name, number", [("SEGV", 11), ("ILL", 4), ("KILL", 9)])
def test_a_command_killed_by_a_signal_reads_as_minus_n(started, signal_name, number):
    result = started.run(["/bin/sh", "-c", f"kill -{signal_name} $$"])
    assert result.exit_code == -number and not result.timed_out, result.report()


def test_a_program_exit_code_below_129_is_its_own(started):
    assert started.run("exit 127").exit_code == 127
    assert started.run("exit 1").exit_code == 1


def test_a_command_past_its_budget_is_killed_and_the_target_stays_usable(started):
    result = started.run("sleep 61 & sleep 62", timeout=3)
    assert result.timed_out and not result.ok and result.duration < 40, result.report()
    assert "timed out after its 3 s command budget" in result.report()
    assert started.run("echo still here").check().stdout == "still here\n"
    left = started.run("for f in /proc/[0-9]*/cmdline; do tr '\\0' ' ' < $f; echo; done").stdout
    assert "sleep 61" not in left and "sleep 62" not in left, left  # its process group went, background included


def test_the_environment_is_clean_and_plain(started, monkeypatch):
    monkeypatch.setenv("ARCHSMOKE_LEAK_CHECK", "host-only")
    env = started.run("env").check().stdout
    assert "ARCHSMOKE_LEAK_CHECK" not in env and "NO_COLOR=1" in env and "TERM=dumb" in env, env


def test_stdin_cwd_and_env_arrive(started):
    payload = bytes(range(256)) * 4
    assert started.run(["sh", "-c", "cat | od -An -tx1 | wc -w"], stdin=payload).check().stdout.strip() == "1024"
    tmp = started.own_path("/tmp")
    assert started.run("pwd", cwd=tmp).check().stdout == f"{tmp}\n"
    assert started.run("echo $ARCHSMOKE_X", env={"ARCHSMOKE_X": "1 2"}).check().stdout == "1 2\n"
    home = started.own_path("/root") if started.disposable else started.own_path("/home")
    assert started.run(["sh", "-c", "echo $HOME:$TERM:$NO_COLOR"]).check().stdout == f"{home}:dumb:1\n"


def test_files_go_in_and_out_whole_with_their_mode(started, tmp_path):
    source = tmp_path / "blob"
    source.write_bytes(os.urandom(3 * 1024 * 1024 + 17))
    blob = started.own_path("/tmp/contract/deeper/blob")
    started.put(source, blob, mode=0o751)
    assert started.run(["stat", "-c", "%a %s", blob]).check().stdout.split() == ["751", str(source.stat().st_size)]
    back = tmp_path / "back"
    started.get(blob, back)
    assert back.read_bytes() == source.read_bytes()


def test_copies_that_cannot_be_made_are_target_errors(started, tmp_path):
    with pytest.raises(TargetError, match="absolute"):
        started.put(tmp_path, "relative/path")
    with pytest.raises(TargetError):
        started.get("/no/such/file", tmp_path / "x")
    directory = started.own_path("/tmp/contract-dir")
    started.run(["mkdir", "-p", directory]).check()
    with pytest.raises(TargetError):
        started.put(tmp_path / "missing-on-the-host", f"{directory}/x")
