"""The build under test is untrusted (a pull request's): it runs as root in its target, and must not reach the host
through /dev, /sys, /proc/sys, its working directory or the links it leaves for the harness's copies.  Each way out is
tried by a script run in the target as any program there would run, on every tier whose target is disposable
(qemu-user natively and emulated, a container under podman and under docker, a VM), and the host is checked
afterwards.  The VM's own tests (its console frames, its sandbox) are in test_vm_sandbox.py."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from archsmoke.errors import TargetError
from archsmoke.tiers import TIERS, RunnerOptions
from archsmoke.tiers.base import WORK_DIR
from probes import ESCAPE, PREAMBLE

# (tier, its options, arch): qemu-user natively and emulated, each engine, the VM.
PLACES = [("qemu-user", {}, "x86_64"), ("qemu-user", {}, "ppc64le"), ("container", {"engine": "podman"}, "ppc64le"),
          ("container", {"engine": "docker"}, "ppc64le"), ("vm", {}, "ppc64le")]
# What a target's /dev may hold: the devices programs need and links into /proc, nothing of the host's or the VM's.
DEVICES = {"null", "zero", "full", "random", "urandom", "tty", "ptmx", "pts", "shm", "fd", "stdin", "stdout", "stderr",
           "mqueue", "core", "console"}


@pytest.fixture(scope="module", params=PLACES, ids=[f"{arch}-{tier}{'-' + o['engine'] if o else ''}"
                                                    for tier, o, arch in PLACES])
def runner(request, built, catalog, cache):
    tier_name, values, arch = request.param
    tier, target = TIERS[tier_name], catalog.get(arch)
    settings = tier.settings(values)
    with tier.runner(target, built(arch), RunnerOptions(cache=cache, settings=settings)) as started:
        yield started


def _host_file(directory: str):
    path = Path(directory) / f"archsmoke-host-{uuid.uuid4().hex}"
    path.write_text("the host's")
    yield path
    path.unlink(missing_ok=True)


@pytest.fixture
def host_shm_file():
    """A file of the host's, in the place a program of the target reached before: /dev/shm."""
    yield from _host_file("/dev/shm")


def test_the_working_directory_is_its_own_not_the_targets_root(runner):
    assert runner.run("pwd").check().stdout.strip() == WORK_DIR


def test_dev_is_the_targets_own(runner, host_shm_file):
    name = f"archsmoke-target-{uuid.uuid4().hex}"
    script = (f"echo target > /dev/shm/{name}; rm -f /dev/shm/{host_shm_file.name} ../../dev/shm/{host_shm_file.name}; "
              "ls /dev")
    listed = set(runner.run(script).check().stdout.split())
    assert not (Path("/dev/shm") / name).exists(), "the target wrote into the host's /dev/shm"
    assert host_shm_file.read_text() == "the host's", "the target deleted a file of the host's /dev/shm"
    assert listed <= DEVICES, listed - DEVICES  # no disk, no kvm, no loop device: nothing of the host's
    assert runner.run("find /dev -type b | wc -l").check().stdout.strip() == "0"  # no block device at all
    assert runner.run("head -c 4 /dev/zero | od -An -tx1").check().stdout.split() == ["00"] * 4
    assert runner.run("echo x > /dev/null && test -c /dev/urandom && test -d /dev/pts").ok


@pytest.mark.parametrize("path", ["/sys/kernel/mm/transparent_hugepage/enabled", "/proc/sys/kernel/hostname",
                                  "/proc/sys/vm/drop_caches", "/proc/sysrq-trigger"])
def test_the_kernels_settings_are_read_only(runner, path):
    if not runner.run(f"test -e {path}").ok:
        pytest.skip(f"the kernel {runner.where} runs on has no {path}")
    # Opened for writing and nothing written: refused at open on a read-only mount, and harmless were it not.
    result = runner.run(f": > {path}")
    assert result.exit_code != 0 and "Read-only file system" in result.stderr, result.report()
    assert runner.run(f"test -e {path}").ok  # still there to be read


def test_the_hostname_is_the_targets_own(runner):
    """A UTS namespace of its own: `hostname` as root in the target renames the target (where it may at all: docker
    and podman refuse it without CAP_SYS_ADMIN), never the host."""
    host = os.uname().nodename
    renamed = runner.run(["python3", "-c", "import socket; socket.sethostname('archsmoke-target')"])
    assert renamed.ok or "Operation not permitted" in renamed.stderr, renamed.report()
    if renamed.ok:
        assert runner.run(["uname", "-n"]).check().stdout.strip() == "archsmoke-target"
    assert os.uname().nodename == host


def test_a_flood_of_output_goes_to_a_file_and_its_tail_to_memory(runner):
    """100 MiB printed: memory keeps the last MEMORY_LIMIT bytes (what a report shows), the first FILE_LIMIT go to
    a file in the target's work area on the host, the rest is counted (the harness's memory and disk are not the
    build's to take); a small stream beside it stays whole, in memory only."""
    from archsmoke.tiers.output import FILE_LIMIT, MEMORY_LIMIT

    flood = 100 << 20
    result = runner.run("head -c 104857600 /dev/zero | tr '\\0' x; echo the-end; echo done >&2").check()
    assert result.stdout_file is not None and result.stdout_file.is_file()
    note = (f"[archsmoke: this output was {flood + 8} bytes; all but its last {MEMORY_LIMIT} are in "
            f"{result.stdout_file} (the first {FILE_LIMIT} of them)]\n").encode()
    # (compared in parts: pytest would render a mismatch of megabytes for minutes)
    memory = result.stdout_bytes
    assert memory[:len(note)] == note and len(memory) == len(note) + MEMORY_LIMIT, memory[:300]
    assert memory[len(note):].count(b"x") == MEMORY_LIMIT - 8 and memory.endswith(b"xthe-end\n")
    kept = result.stdout_file.read_bytes()
    assert kept[:FILE_LIMIT].count(b"x") == FILE_LIMIT
    assert kept[FILE_LIMIT:] == f"\n[archsmoke: {flood + 8 - FILE_LIMIT} more bytes of this output were not kept]\n".encode()
    assert result.stderr == "done\n" and result.stderr_file is None


@pytest.fixture
def host_secret():
    """A file of the host's that the target has no copy of, at a path a planted link can name."""
    yield from _host_file("/tmp")


def test_copies_through_planted_links_stay_in_the_target(runner, host_secret, tmp_path):
    """The build leaves symlinks where the harness copies files next (absolute, climbing, as the destination itself):
    the host's file is neither read nor written, and the copy lands where the target's kernel resolves the link."""
    runner.run(f"ln -s {host_secret} steal && ln -s ../../../../../../../..{host_secret} climb && "
               f"ln -s {host_secret.parent} dir && ln -s {host_secret} dest").check()
    for link in ("steal", "climb"):
        copied = tmp_path / link
        with pytest.raises(TargetError):  # the target has no such file
            runner.get(f"{WORK_DIR}/{link}", copied)
        assert not copied.exists() or copied.read_text() != "the host's"
    source = tmp_path / "source"
    source.write_text("from the test")
    runner.put(source, f"{WORK_DIR}/dir/{host_secret.name}")
    runner.put(source, f"{WORK_DIR}/dest")
    assert host_secret.read_text() == "the host's"
    assert runner.run(["cat", str(host_secret)]).check().stdout == "from the test"  # the target's own /tmp


# As root in the target: each privileged way out, reported by what it met, then the classic chroot escape.
PRIVILEGED = PREAMBLE + r"""
def device(name, major, minor):
    os.mknod(f"/tmp/{name}", 0o20600, os.makedev(major, minor))
    open(f"/tmp/{name}", "w").close()
attempt("disk_device", lambda: (os.mknod("/tmp/disk", 0o60600, os.makedev(8, 0)), open("/tmp/disk", "rb").close()))
attempt("memory_device", lambda: device("mem", 1, 1))
attempt("console_device", lambda: device("console", 5, 1))
attempt("mount_devtmpfs", lambda: mount("devtmpfs", "/tmp/devtmpfs", "devtmpfs"))
attempt("mount_proc", lambda: mount("proc", "/tmp/proc", "proc"))
attempt("remount_sys_rw", lambda: mount(None, "/sys", None, 0x20))
attempt("write_printk", lambda: open("/proc/sys/kernel/printk", "w").write("7"))
attempt("init_module", lambda: call(libc.init_module(None, 0, b"")))
out["own_root"] = sorted(os.listdir("/"))
""" + ESCAPE + r"""
print(json.dumps(out))
"""


def test_root_in_the_target_reaches_no_device_mount_or_kernel_setting(runner):
    """No device node that reaches hardware, no mount, no kernel setting, no module; and a chroot of its own leads
    nowhere beyond the target's root (on the VM: the initramfs, read-only, see test_vm_sandbox.py)."""
    import json

    met = json.loads(runner.run(["python3", "-c", PRIVILEGED]).check().stdout)
    for attempt in ("disk_device", "memory_device", "console_device", "mount_devtmpfs", "mount_proc",
                    "remount_sys_rw", "write_printk", "init_module"):
        assert met[attempt] != "done", (attempt, met)
    if runner.boots_own_kernel:
        assert "agent" in met["beyond_root"], met
    else:
        assert met["beyond_root"] == met["own_root"], met
