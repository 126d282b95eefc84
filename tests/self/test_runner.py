"""The qemu-user runner against real QEMU and real root filesystems."""

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hanging_run import interrupt_hanging_run
from archsmoke.rootfs import tree_digest
from archsmoke.tiers import RunnerOptions
from archsmoke.tiers.qemu_user import QemuUserRunner
from archsmoke.plugin.testinfra_backend import host_for

EMULATED = ["ppc64le", "s390x", "aarch64", "armv7"]


@pytest.fixture(scope="module", params=["ppc64le", "s390x"])
def started(request, built, catalog):
    target = catalog.get(request.param)
    with QemuUserRunner(target, built(request.param)) as runner:
        yield runner


def _mounts_mentioning(text: str) -> list[str]:
    return [line for line in Path("/proc/self/mountinfo").read_text().splitlines() if text in line]



def test_runs_the_target_architecture(started):
    machine = started.run(["python3", "-c", "import platform; print(platform.machine())"]).check().stdout.strip()
    assert machine == started.target.name
    assert started.run(["uname", "-m"]).check().stdout.strip() == started.target.name


def test_cpu_floor_reaches_qemu(started):
    assert started.run("echo $QEMU_CPU").stdout.strip() == started.target.cpu






def test_writes_never_reach_the_cache(started):
    before = tree_digest(started.rootfs.root)
    started.run("echo x > /etc/archsmoke-was-here && rm /usr/bin/env").check()
    assert started.run("cat /etc/archsmoke-was-here").stdout == "x\n"
    assert not (started.rootfs.root / "etc/archsmoke-was-here").exists()
    assert tree_digest(started.rootfs.root) == before


def test_testinfra_host(started):
    host = host_for(started)
    passwd = host.file("/etc/passwd")
    assert passwd.contains("^root:.*:0:0:") and passwd.user == "root" and passwd.mode == 0o644
    assert host.run("uname -m").stdout.strip() == started.target.name
    assert host.exists("python3")


def test_all_emulated_arches_run(built, catalog):
    for arch in EMULATED:
        with QemuUserRunner(catalog.get(arch), built(arch)) as runner:
            assert runner.run(["uname", "-m"]).check().stdout.strip() in (arch, "armv7l")


def test_i386_reports_a_32_bit_machine(built, catalog):
    with QemuUserRunner(catalog.get("i386"), built("i386")) as runner:
        assert runner.run(["uname", "-m"]).check().stdout.strip() == "i686"
        multiarch = runner.run(["python3", "-c", "import sysconfig; print(sysconfig.get_config_var('MULTIARCH'))"])
        assert multiarch.check().stdout.strip() == "i386-linux-gnu"


def test_cpu_override(built, catalog):
    target = catalog.get("ppc64le")
    with QemuUserRunner(target, built("ppc64le"), RunnerOptions(cpu="power9")) as runner:
        assert runner.run("echo $QEMU_CPU").stdout.strip() == "power9"
        runner.run("python3 -c pass").check()


def test_stop_leaves_nothing(built, catalog):
    runner = QemuUserRunner(catalog.get("s390x"), built("s390x"))
    runner.start()
    session = runner._session
    init_pid = runner._init_pid
    runner.run("sleep 1000 & echo started").check()
    runner.stop()
    assert not session.exists()
    assert not _mounts_mentioning(str(session))
    assert not Path(f"/proc/{init_pid}").exists()


@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL], ids=["SIGINT", "SIGTERM", "SIGKILL"])
def test_an_interrupted_run_leaves_no_mounts_or_processes(built, catalog, cache, tmp_path, how):
    built("ppc64le")
    work = tmp_path / "work"
    work.mkdir()
    state = interrupt_hanging_run(tmp_path, 'f"{target._init_pid} {target._session}"',
                                  ["--arch", "ppc64le", "--cache-dir", str(cache.root)], how, env={"TMPDIR": str(work)})
    init_pid, session = state.split()
    deadline = time.monotonic() + 10
    while Path(f"/proc/{init_pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not Path(f"/proc/{init_pid}").exists(), "the target's processes outlived the harness"
    assert not _mounts_mentioning(session)
    if how == signal.SIGKILL:
        # Nothing can run at SIGKILL; the next start sweeps the orphaned session directory.
        assert Path(session).exists()
        with QemuUserRunner(catalog.get("ppc64le"), built("ppc64le"), RunnerOptions(work_root=work)):
            pass
    assert not Path(session).exists()


def test_a_session_directory_left_at_any_moment_is_swept(built, catalog, tmp_path):
    """A harness SIGKILLed right after creating its session directory leaves nothing else behind: the
    directory's name alone must let the next start judge it (owner pid and start time)."""
    from archsmoke.tiers.process import owner_token
    from archsmoke.tiers.qemu_user.runner import SESSION_PREFIX

    pid, started = owner_token(".").split(".")
    orphan = tmp_path / f"{SESSION_PREFIX}{pid}.{int(started) + 1}-abcd1234"  # this pid, another process's start
    live = tmp_path / f"{SESSION_PREFIX}{pid}.{started}-efgh5678"  # this very process: still running
    unknown = tmp_path / f"{SESSION_PREFIX}q1w2e3r4"  # not named by archsmoke's scheme: left alone
    for path in (orphan, live, unknown):
        (path / "upper").mkdir(parents=True)
    with QemuUserRunner(catalog.get("x86_64"), built("x86_64"), RunnerOptions(work_root=tmp_path)):
        pass
    assert not orphan.exists() and live.exists() and unknown.exists()



_FLOOD = """
import resource, sys
from pathlib import Path
from archsmoke.cache import Cache
from archsmoke.rootfs import RootfsBuilder
from archsmoke.tiers import load_catalog
from archsmoke.tiers.qemu_user.runner import QemuUserRunner

target = load_catalog().get("x86_64")
with QemuUserRunner(target, RootfsBuilder(Cache(Path(sys.argv[1]))).ensure(target)) as runner:
    result = runner.run(f"head -c {sys.argv[2]} /dev/zero; echo done >&2").check()
    assert result.stderr == "done\\n"
    spilled = result.stdout_file.stat().st_size if result.stdout_file else 0
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024, spilled)
"""


def test_a_gib_of_output_costs_the_harness_little_memory(built, cache):
    """A build that prints 1 GiB: the harness's peak memory stays near a run's that prints one byte (the stream's
    tail in memory, its head in a file), not the gigabyte."""
    built("x86_64")
    peaks = {}
    for size in (1, 1 << 30):
        run = subprocess.run([sys.executable, "-c", _FLOOD, str(cache.root), str(size)], capture_output=True, text=True)
        assert run.returncode == 0, run.stderr
        peak_mib, spilled = (int(word) for word in run.stdout.split())
        assert (spilled > 0) == (size > 1), run.stdout
        peaks[size] = peak_mib
    assert peaks[1 << 30] - peaks[1] < 32, f"peak memory in MiB by bytes printed: {peaks}"
