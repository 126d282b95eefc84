"""The self-tests run side by side (`pytest tests -n 2`), so each check of what a run left behind must look only at
what that run started.  Here those checks run while this process holds a target of every kind started, each with a
command still running in it (a qemu-user sandbox, a podman container, a VM, an ssh session): they must pass, and the held targets
must be plain to see host-wide, so a check that looked at the whole host would have failed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from archsmoke.host import engine as engines
from archsmoke.tiers import TIERS, RunnerOptions
from archsmoke.tiers.ssh.runner import SESSION_PREFIX as SSH_SESSION_PREFIX
from hanging_run import processes_naming
from sshd import settings_values

REPO = Path(__file__).resolve().parents[2]

# One signal each: the others differ in the harness's handling, not in where the checks look.
CHECKS = [
    "tests/self/test_runner.py::test_stop_leaves_nothing",
    "tests/self/test_runner.py::test_an_interrupted_run_leaves_no_mounts_or_processes[SIGTERM]",
    "tests/self/test_container.py::test_an_interrupted_run_leaves_no_container[podman-SIGKILL]",
    "tests/self/test_vm.py::test_an_interrupted_run_leaves_no_vm_or_overlay[SIGINT]",
    "tests/self/test_ssh.py::test_ssh_harness_killed_mid_command_leaves_nothing_on_the_machine[SIGTERM]",
]

HELD = [("qemu-user", {}, "ppc64le"), ("container", {"engine": "podman"}, "ppc64le-musl"), ("vm", {}, "ppc64le")]


def test_leftover_checks_look_only_at_what_their_own_run_started(built, catalog, cache, ssh_machines, tmp_path):
    machine = ssh_machines("s390x")
    ssh = TIERS["ssh"]
    ssh_settings = ssh.settings(settings_values(ssh_machines.args(machine)))
    ssh_settings.resolve(catalog, [catalog.get("s390x")])
    held = [*((TIERS[name], values, arch) for name, values, arch in HELD), (ssh, ssh_settings, "s390x")]
    runners = []
    try:
        for tier, values, arch in held:
            settings = values if tier is ssh else tier.settings(values)
            runner = tier.runner(catalog.get(arch), None if tier is ssh else built(arch),
                                 RunnerOptions(cache=cache, settings=settings))
            runner.start()
            runners.append(runner)
            runner.run("sleep 1000 > /dev/null 2>&1 &").check()
        qemu_user, container, vm, over_ssh = runners
        # What a check of the whole host would see: an archsmoke sandbox's processes, a container of archsmoke's,
        # a qemu-system of archsmoke's, each with a command running in it.
        assert processes_naming(str(qemu_user._session)), "the held qemu-user target is not running"
        listed = engines.detect("podman").run("ps", "--format", "{{.Names}}").stdout.decode().split()
        assert container.container in listed, listed
        assert processes_naming(str(vm._session)), "the held VM is not running"
        assert processes_naming(SSH_SESSION_PREFIX) and over_ssh.connection.alive, "the held ssh session is not open"

        result = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q",
                                 "--cache-dir", str(cache.root), "--basetemp", str(tmp_path / "checks"), *CHECKS],
                                cwd=REPO, capture_output=True, text=True, timeout=900)
        assert result.returncode == 0 and f"{len(CHECKS)} passed" in result.stdout, result.stdout[-4000:]
        for runner in runners:
            assert runner.run("echo alive").check().stdout == "alive\n", f"{runner.where} was disturbed"
    finally:
        for runner in runners:
            runner.stop()
