"""The ssh tier against real sshds of foreign arches: Debian's openssh-server in emulated ppc64el and s390x
roots, each a "machine" in a network namespace of its own (tests/sshd.py).  The runner contract itself runs
on them in test_runner_contract.py (exit codes, signals, budgets, files)."""

from __future__ import annotations

import shutil
import signal
import subprocess
import tempfile
import sys
import time
from pathlib import Path
from xml.etree import ElementTree

import pytest

from archsmoke.cli.markdown import inline
from archsmoke.errors import TargetError
from archsmoke.tiers import TIERS, RunnerOptions
from archsmoke.tiers.ssh.runner import SESSION_PREFIX
from conftest import UV_VERSION
from hanging_run import interrupt_hanging_run, processes_naming
from sshd import EmulatedSshd, machine_root, settings_values

SMOKE = Path(__file__).parents[1] / "smoke"
RUFF_RELEASE = "0.15.11"


def _run(pytester, cache, *args: str):
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-rs", "--cache-dir", str(cache.root), *args)
    return result.ret, result.stdout.str() + result.stderr.str()


def _cases(junit: Path) -> dict[str, dict]:
    found = {}
    for case in ElementTree.parse(junit).iter("testcase"):
        properties = {p.get("name"): p.get("value") for p in case.iter("property")}
        outcome = "failed" if case.find("failure") is not None or case.find("error") is not None else \
            "skipped" if case.find("skipped") is not None else "passed"
        found[case.get("name")] = {"outcome": outcome, **properties}
    return found


def _runner(catalog, arch: str, args: list[str]):
    """An ssh runner for `arch` configured from a run's options (what --ssh-host and friends give)."""
    tier = TIERS["ssh"]
    settings = tier.settings(settings_values(args))
    target = catalog.get(arch)
    settings.resolve(catalog, [target])
    return tier.runner(target, None, RunnerOptions(settings=settings))


def _nothing_left(machine: EmulatedSshd, seconds: float = 30) -> tuple[list[str], list[str]]:
    """Waits until the machine has no process and no work directory of a run; what is left after `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        left = machine.processes(), machine.work_dirs()
        if left == ([], []) or time.monotonic() > deadline:
            return left
        time.sleep(0.5)


# A part of both suites: versions, what the kernel is, pip installs from this host's index over HTTPS (reached
# through the connection's reverse forwards), the trust-store test that must skip on a real machine.  The
# whole suites run over ssh in .ci/run's second lane (tests/sshd.py starts the machines there).
SIDE_BY_SIDE = ["uv/test_uv_version.py", "uv/test_uv_tls.py", "ruff/test_ruff_version.py", "ruff/test_ruff_format.py",
                "test_kernel.py"]


def test_ssh_beside_qemu_user_in_one_report(pytester, cache, ssh_machines, tmp_path):
    ppc64le, s390x = ssh_machines("ppc64le"), ssh_machines("s390x")
    junit = tmp_path / "junit.xml"
    code, output = _run(pytester, cache, *(str(SMOKE / f) for f in SIDE_BY_SIDE), "--runner", "qemu-user,ssh",
                        "--arch", "ppc64le,s390x", *ssh_machines.args(ppc64le, s390x), "--release",
                        f"uv={UV_VERSION}", "--release", f"ruff={RUFF_RELEASE}", "-n", "2", f"--junitxml={junit}")
    assert code == 0, output
    assert "archsmoke: ppc64le on qemu-user (emulated by qemu-ppc64le; proves CPU floor power8), ssh (a real " \
           "machine, no emulator; proves page size 64 KiB)" in output, output
    cases = _cases(junit)
    columns = {"ppc64le", "ppc64le-ssh", "s390x", "s390x-ssh"}
    by_test: dict[str, dict[str, str]] = {}
    for name, case in cases.items():
        placement = case["archsmoke_placement"]
        by_test.setdefault(name.replace(placement, "*", 1), {})[placement] = case["outcome"]
    assert all(set(places) == columns for places in by_test.values()), by_test  # the same tests on every column
    failed = [name for name, case in cases.items() if case["outcome"] == "failed"]
    skipped = sorted(name for name, case in cases.items() if case["outcome"] == "skipped")
    assert not failed and skipped == [
        "test_pip_install_trusting_the_targets_own_certificate_store[ppc64le-ssh]",
        "test_pip_install_trusting_the_targets_own_certificate_store[s390x-ssh]"], (failed, skipped)
    assert "it would change the system trust store of ppc64le (ssh machine smoke@" in output
    assert len(by_test) >= 10 and {case["archsmoke_product"] for case in cases.values()
                                  if "archsmoke_product" in case} == {"uv", "ruff"}

    # What ran where, from the JUnit properties: the machines name themselves, their kernel, pages and CPU.
    ssh = next(c for c in cases.values() if c["archsmoke_placement"] == "ppc64le-ssh" and c.get("archsmoke_product"))
    assert ssh["archsmoke_machine"] == f"{ppc64le.destination} (ppc64le-machine)", ssh
    assert ssh["archsmoke_root"] == f"machine {ppc64le.destination} (ppc64le-machine, glibc 2.36)"
    assert ssh["archsmoke_kernel_release"] == subprocess.run(["uname", "-r"], capture_output=True,
                                                             text=True).stdout.strip()
    assert ssh["archsmoke_page_size"] == "4096" and ssh["archsmoke_cpu"] and "archsmoke_qemu" not in ssh
    # An emulated machine runs on this host's 4 KiB pages: the run says it did not prove ppc64le's 64 KiB.
    assert ssh["archsmoke_proves"] == "nothing of either class"
    assert "page size 64 KiB on ppc64le: ssh: ppc64le (ssh machine" in ssh["archsmoke_not_covered"]
    s390x_ssh = next(c for c in cases.values() if c["archsmoke_placement"] == "s390x-ssh")
    assert s390x_ssh["archsmoke_proves"] == "page size 4 KiB" and "archsmoke_not_covered" not in s390x_ssh

    report = subprocess.run([sys.executable, "-m", "archsmoke", "report", str(junit)], capture_output=True,
                            text=True, timeout=120)
    assert report.returncode == 0, report.stdout + report.stderr
    markdown = report.stdout
    assert "| test | ppc64le | ppc64le (ssh) | s390x | s390x (ssh) |" in markdown, markdown
    assert "⚠️ passed, not everything covered" in markdown and "page size 64 KiB on ppc64le" in markdown
    assert f"| ppc64le (ssh) | ssh | nothing of either class | uv {UV_VERSION} |" in markdown, markdown
    # As text: the @ of user@host is written so that GitHub makes no mention of it (cli/markdown.py).
    assert inline(f"machine {ppc64le.destination} (ppc64le-machine, glibc 2.36)") + " |" in markdown, markdown
    assert f"machine {ppc64le.destination.replace('@', '&#64;')} (ppc64le-machine" in markdown
    assert _nothing_left(ppc64le) == ([], []) and _nothing_left(s390x) == ([], [])


def test_ssh_machine_without_python_runs_what_needs_none(pytester, cache, ssh_machines):
    machine = ssh_machines("ppc64le", without_python=True)
    code, output = _run(pytester, cache, str(SMOKE / "uv"), "--runner", "ssh", "--arch", "ppc64le",
                        *ssh_machines.args(machine), "--release", UV_VERSION)
    assert code == 0, output
    assert "the ppc64le machine smoke@" in output and "cannot install a wheel: it has no python3" in output, output
    assert " passed" in output and "test_uv_reports_its_version" not in output.split("short test summary")[-1]


def test_ssh_unreachable_machine_fails_its_arch_and_the_others_go_on(pytester, cache, ssh_machines):
    s390x = ssh_machines("s390x")
    nobody = f"smoke@198.18.{s390x.subnet}.3"  # on the machine's link, where no one answers
    started = time.monotonic()
    code, output = _run(pytester, cache, str(SMOKE / "uv" / "test_uv_version.py"), "--runner", "ssh",
                        "--arch", "ppc64le,s390x", *ssh_machines.args(s390x), "--ssh-host", f"ppc64le={nobody}",
                        "--release", UV_VERSION)
    assert code == 1, output
    assert f"cannot reach {nobody} over ssh" in output and "fix: check `ssh " in output, output
    assert "1 passed, 1 error" in output and "ERROR at setup of test_uv_reports_its_version[ppc64le-ssh]" in output
    assert "Traceback" not in output and "During handling" not in output, output
    assert time.monotonic() - started < 120 + 60  # within ppc64le's start budget, once for all its tests


def test_ssh_without_arch_tests_the_arches_there_are_machines_for(pytester, cache, ssh_machines):
    s390x = ssh_machines("s390x")
    code, output = _run(pytester, cache, str(SMOKE / "uv" / "test_uv_version.py"), "--runner", "ssh",
                        *ssh_machines.args(s390x), "--release", UV_VERSION)
    assert code == 0 and "1 passed" in output and "archsmoke: arches s390x;" in output, output


def test_ssh_host_keys_are_checked(cache, catalog, tmp_path, ssh_machines):
    """A machine whose key changed (reinstalled, or not that machine) is refused, and so is an unknown one."""
    with EmulatedSshd(machine_root(ssh_machines.builder, catalog.get("s390x")), tmp_path / "machine") as machine:
        args = machine.args()
        with _runner(catalog, "s390x", args) as runner:
            assert runner.run(["uname", "-m"]).check().stdout == "s390x\n"
        machine.new_host_key()
        with pytest.raises(TargetError, match="host key is not the one your known_hosts holds") as changed:
            _runner(catalog, "s390x", args).start()
        assert "ssh-keygen -R" in str(changed.value)
        (tmp_path / "empty").write_text("")
        args[args.index("--ssh-known-hosts") + 1] = str(tmp_path / "empty")
        with pytest.raises(TargetError, match="host key is not in .*empty: archsmoke does not accept unknown"):
            _runner(catalog, "s390x", args).start()
        assert _nothing_left(machine) == ([], [])


def test_ssh_machine_of_another_arch_is_refused(catalog, ssh_machines):
    s390x = ssh_machines("s390x")
    args = ssh_machines.args(s390x)
    args[args.index("--ssh-host") + 1] = f"ppc64le={s390x.destination}"
    with pytest.raises(TargetError, match=r"is a s390x machine \(`uname -m`\), not ppc64le \(ppc64le\)"):
        _runner(catalog, "ppc64le", args).start()
    assert _nothing_left(s390x) == ([], [])


@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL], ids=lambda s: s.name)
def test_ssh_harness_killed_mid_command_leaves_nothing_on_the_machine(tmp_path, cache, ssh_machines, how):
    machine = ssh_machines("ppc64le")
    # Short: the run's ssh control socket is made in it, and a socket's path may not pass 107 bytes.
    own_tmp = Path(tempfile.mkdtemp(prefix="ssh-", dir="/tmp"))
    clients = f"{own_tmp}/{SESSION_PREFIX}"

    def hangs(work_dir: str) -> None:
        assert any("sleep 1000" in p for p in machine.processes()), machine.processes()
        assert machine.work_dirs() == [work_dir.rsplit("/", 1)[1]]
        assert processes_naming(clients), "the run's ssh clients are not found where this test looks for them"

    # The run's ssh clients are named by its session directory, made in its TMPDIR: this test's own, so a run
    # that another test (or another xdist worker) has on some machine at the same time is not counted here.
    interrupt_hanging_run(tmp_path, "target.connection.work_dir",
                          ["--runner", "ssh", "--arch", "ppc64le", "--cache-dir", str(cache.root),
                           *ssh_machines.args(machine)], how, check=hangs, whole_group=how == signal.SIGINT,
                          env={"TMPDIR": str(own_tmp)})
    assert _nothing_left(machine) == ([], [])
    deadline = time.monotonic() + 30
    while processes_naming(clients) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert processes_naming(clients) == []  # no ssh client of the run is left here either
    shutil.rmtree(own_tmp)
