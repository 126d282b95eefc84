"""The full-system VM tier against real qemu-system, real Debian kernels and the real root filesystems."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from archsmoke.errors import ConfigError, HostSetupError, ImageBuildError, TargetError
from archsmoke.targets.catalog import parse_target
from archsmoke.tiers import RunnerOptions
from archsmoke.tiers import sections
from archsmoke.tiers.vm import VmRunner, boot
from archsmoke.tiers.vm.spec import vm_spec
from archsmoke.tiers.vm.initramfs import Cpio
from hanging_run import interrupt_hanging_run, processes_naming


@pytest.fixture(scope="module")
def ppc64le_vm(built, catalog, cache):
    with VmRunner(catalog.get("ppc64le"), built("ppc64le"), RunnerOptions(cache=cache)) as runner:
        yield runner



def test_it_is_the_targets_own_kernel(ppc64le_vm):
    assert ppc64le_vm.run(["getconf", "PAGESIZE"]).check().stdout == "65536\n"
    assert ppc64le_vm.run(["uname", "-m"]).check().stdout == "ppc64le\n"
    assert "POWER8" in ppc64le_vm.run(["grep", "-m1", "^cpu", "/proc/cpuinfo"]).check().stdout
    facts = ppc64le_vm.kernel_facts
    assert facts["page_size"] == "65536" and facts["machine"].startswith("pseries") and facts["cpu"] == "power8"




def test_files_move_whole_and_fast(ppc64le_vm, tmp_path):
    data = os.urandom(60 * 1024 * 1024)
    source = tmp_path / "big"
    source.write_bytes(data)
    started = time.monotonic()
    ppc64le_vm.put(source, "/opt/new/dir/big", mode=0o751)
    put_seconds = time.monotonic() - started
    out = ppc64le_vm.run("stat -c %a /opt/new/dir/big; sha256sum /opt/new/dir/big").check().stdout.split()
    assert out[:2] == ["751", hashlib.sha256(data).hexdigest()]
    back = tmp_path / "back"
    ppc64le_vm.get("/opt/new/dir/big", back)
    assert back.read_bytes() == data
    assert put_seconds < 10, f"60 MB took {put_seconds:.1f} s to put"
    with pytest.raises(TargetError, match="copying /no/such/file out failed"):
        ppc64le_vm.get("/no/such/file", tmp_path / "none")


def test_the_index_on_the_hosts_loopback_is_reached_through_the_gateway(ppc64le_vm, loopback_index):
    (loopback_index.root / "simple").mkdir(exist_ok=True)
    (loopback_index.root / "simple" / "hello.txt").write_text("from the host\n")
    url = ppc64le_vm.host_url(f"{loopback_index.url}/hello.txt")
    assert url.startswith("http://10.0.2.2:")
    script = f"import urllib.request; print(urllib.request.urlopen({url!r}, timeout=20).read().decode(), end='')"
    assert ppc64le_vm.run(["python3", "-c", script]).check().stdout == "from the host\n"


@pytest.mark.parametrize(("url", "seen"), [
    ("http://127.0.0.1:8080/simple", "http://10.0.2.2:8080/simple"),
    ("https://localhost:443/x?y=1", "https://10.0.2.2:443/x?y=1"),
    ("http://user:secret@127.0.0.1:81/", "http://user:secret@10.0.2.2:81/"),
    ("https://pypi.org/simple", "https://pypi.org/simple"),  # not the host's loopback: left alone
])
def test_host_urls_name_the_gateway(url, seen):
    assert VmRunner.host_url(VmRunner.__new__(VmRunner), url) == seen


def test_a_cached_disk_is_never_written(built, catalog, cache):
    from archsmoke.tiers.vm import disk

    rootfs = built("ppc64le")
    image = disk.ensure(rootfs, cache).image
    before = (image.stat().st_mtime_ns, image.stat().st_ctime_ns)  # any write, or chmod, changes ctime
    with VmRunner(catalog.get("ppc64le"), rootfs, RunnerOptions(cache=cache)) as first, \
            VmRunner(catalog.get("ppc64le"), rootfs, RunnerOptions(cache=cache)) as second:  # one disk, two VMs
        first.run("echo written > /etc/archsmoke-marker && sync").check()
        assert second.run("test -e /etc/archsmoke-marker").exit_code == 1
    assert (image.stat().st_mtime_ns, image.stat().st_ctime_ns) == before


@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL], ids=["SIGINT", "SIGTERM", "SIGKILL"])
def test_an_interrupted_run_leaves_no_vm_or_overlay(built, cache, tmp_path, how):
    built("ppc64le")
    work = tmp_path / "work"
    work.mkdir()

    def while_hanging(state: str) -> None:
        pid, session = state.split()
        # QEMU's -snapshot overlay: created in the session directory, unlinked at once, held open by QEMU
        held = [os.readlink(fd) for fd in Path(f"/proc/{pid}/fd").iterdir()]
        assert any(link.startswith(f"{session}/vl.") for link in held), held
        assert (Path(session) / "console.log").is_file()

    state = interrupt_hanging_run(tmp_path, 'f"{target.console.pid} {target._session}"',
                                  ["--runner", "vm", "--arch", "ppc64le", "--cache-dir", str(cache.root)], how,
                                  env={"TMPDIR": str(work)}, check=while_hanging)
    pid, session = state.split()
    deadline = time.monotonic() + 20
    while (Path(f"/proc/{pid}").exists() or Path(session).exists()) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not Path(f"/proc/{pid}").exists(), "qemu-system outlived the harness"
    assert not Path(session).exists(), "the session directory (overlay, share, console log) was left behind"
    assert not processes_naming(session)
    assert list(work.iterdir()) == []


# --- bad input: a clear message and a non-zero exit, never a hang -----------------------------------------------

def _variant(catalog, arch: str, **vm_changes):
    target = catalog.get(arch)
    return target.with_section("vm", dataclasses.replace(vm_spec(target), **vm_changes))


def test_a_machine_qemu_lacks_is_refused_before_booting(built, catalog, cache):
    target = _variant(catalog, "ppc64le", machine="pseries-99,x-vof=on")
    with pytest.raises(ConfigError, match=r"vm.machine 'pseries-99' is not a machine qemu-system-ppc64 knows"):
        VmRunner(target, built("ppc64le"), RunnerOptions(cache=cache)).start()


def test_a_cpu_model_qemu_lacks_is_refused_before_booting(built, catalog, cache):
    target = _variant(catalog, "aarch64", cpu="cortex-a99")
    with pytest.raises(ConfigError, match=r"vm.cpu 'cortex-a99' is not a CPU model qemu-system-aarch64 knows"):
        VmRunner(target, built("aarch64"), RunnerOptions(cache=cache)).start()


def test_missing_firmware_is_named(built, catalog, cache):
    target = _variant(catalog, "ppc64le", firmware=("no-such-firmware.bin",))
    with pytest.raises(HostSetupError, match="firmware no-such-firmware.bin .* is missing.*\n.*qemu-system-data"):
        VmRunner(target, built("ppc64le"), RunnerOptions(cache=cache)).start()


def test_a_missing_qemu_system_binary_names_its_package(built, catalog, cache):
    target = _variant(catalog, "ppc64le", qemu="qemu-system-nonesuch")
    with pytest.raises(HostSetupError, match="qemu-system-nonesuch is not installed"):
        VmRunner(target, built("ppc64le"), RunnerOptions(cache=cache)).start()


def test_a_kernel_package_that_does_not_exist_fails_the_build(built, catalog, tmp_path):
    from archsmoke.cache import Cache

    target = _variant(catalog, "s390x", kernel=dataclasses.replace(vm_spec(catalog.get("s390x")).kernel,
                                                                   package="linux-image-nonesuch"))
    with pytest.raises(ImageBuildError, match="(?s)mmdebstrap failed for the s390x VM kernel.*linux-image-nonesuch"):
        boot.ensure(target, Cache(tmp_path / "cache"))
    assert not [p for p in (tmp_path / "cache" / boot.KIND).iterdir() if not p.name.endswith(".lock")]


def test_a_console_the_machine_lacks_fails_fast_with_the_console_tail(built, catalog, cache):
    # The kernel boots, but init has no console: the marker never comes, the guest powers off.
    target = _variant(catalog, "ppc64le", console="ttyS9")
    runner = VmRunner(target, built("ppc64le"), RunnerOptions(cache=cache))
    started = time.monotonic()
    # The line that says why comes early in the boot: named even when it scrolled out of the tail.
    with pytest.raises(TargetError, match=r"(?s)QEMU exited \(exit status 0\) while booting to the agent.*; "
                                          r"the console's last lines:.*") as caught:
        runner.start()
    assert "unable to open an initial console" in str(caught.value), caught.value
    assert time.monotonic() - started < 30
    assert runner.console is None and not processes_naming(runner.where)


def test_the_kernels_reason_is_named_even_when_it_scrolled_out_of_the_tail():
    from archsmoke.tiers.vm.console import failure_message

    log = "[ 0.5] Warning: unable to open an initial console.\n" + "".join(f"[ {i}.0] device line\n\n" for i in range(40))
    message = failure_message("ppc64le (vm runner)", "QEMU exited (exit status 0) while booting", log)
    assert message.startswith("ppc64le (vm runner): QEMU exited (exit status 0) while booting (the kernel said earlier: "
                              "[ 0.5] Warning: unable to open an initial console.); the console's last lines:\n"), message
    assert message.count("unable to open") == 1 and message.endswith("[ 39.0] device line")
    quiet = failure_message("x", "it stopped", "[ 1.0] Kernel panic - not syncing: boom\n")
    assert quiet == "x: it stopped; the console's last lines:\n[ 1.0] Kernel panic - not syncing: boom"


def test_a_marker_that_does_not_come_within_the_start_budget_stops_the_vm(built, catalog, cache, tmp_path):
    target = catalog.get("ppc64le")
    target = dataclasses.replace(target, timeouts=dataclasses.replace(target.timeouts, start=1))
    runner = VmRunner(target, built("ppc64le"), RunnerOptions(cache=cache, work_root=tmp_path))
    started = time.monotonic()
    with pytest.raises(TargetError, match=r"(?s)booting to the agent did not finish within its 1 s budget; "
                                          r"the console's last lines:\n.*\S"):
        runner.start()
    assert time.monotonic() - started < 15
    deadline = time.monotonic() + 10
    while list(tmp_path.iterdir()) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert list(tmp_path.iterdir()) == [], "the session directory outlived the failed start"


def test_a_kernel_that_cannot_mount_its_root_fails_fast_with_the_console(built, catalog, cache):
    target = _variant(catalog, "ppc64le", modules=("virtio_pci", "ext4", "crc32c_generic"))  # no virtio_blk
    started = time.monotonic()
    with pytest.raises(TargetError, match=r"(?s)failed in the initramfs: no root disk: /dev/vda did not appear \(is virtio_blk in "
                                          r"vm.modules\?\); the console's last lines"):
        VmRunner(target, built("ppc64le"), RunnerOptions(cache=cache)).start()
    assert time.monotonic() - started < 60


def test_page_size_disagreeing_with_the_kernel_is_refused(built, catalog, cache):
    target = dataclasses.replace(catalog.get("ppc64le"), page_size=4096)
    with pytest.raises(ImageBuildError, match="runs with 65536-byte pages, but ppc64le.yaml says page_size: 4096"):
        boot.ensure(target, cache)


@pytest.mark.parametrize(("change", "message"), [
    ("  machine: pseries,x-vof=on\n", None),
    ("  machine: 'pseries x'\n", "field 'vm.machine' must be a QEMU machine type"),
    ("  console: /dev/hvc0\n", "field 'vm.console' must be a kernel console device name"),
    ("  qemu: qemu-ppc64le\n", "field 'vm.qemu' must name a qemu-system binary"),
    ("  modules: [virtio_blk, 'ext4.ko']\n", "field 'vm.modules' must list kernel module names"),
    ("  memory: 64\n", "field 'vm.memory' must be at least 128"),
    ("  kernel: {suite: bookworm}\n", "field 'vm.kernel.package' is missing"),
    ("  disk: vda\n", "field 'vm.disk' is not a known field"),
])
def test_the_vm_section_is_validated(catalog, change, message):
    source = catalog.get("ppc64le").source
    lines = source.read_text().splitlines(keepends=True)
    start = lines.index("vm:  # the full-system tier (--runner vm)\n") + 1
    end = next(i for i in range(start, len(lines)) if not lines[i].startswith(" "))
    key = change.split(":")[0]
    section = [line for line in lines[start:end] if not line.startswith(key + ":")]
    if key == "  kernel":  # its nested lines go with it
        section = [line for line in section if not line.startswith("    ")]
    text = "".join(lines[:start] + [change] + section + lines[end:])
    if message is None:
        assert vm_spec(parse_target(source, text, sections())).machine == "pseries,x-vof=on"
    else:
        with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
            parse_target(source, text, sections())


def test_the_cli_says_no_vm_section_without_a_traceback(tmp_path, cache):
    result = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--runner", "vm", "--arch",
                             "armv7", "--cache-dir", str(cache.root), str(Path(__file__).parents[1] / "smoke" /
                                                                          "test_kernel.py")],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert result.returncode == 4, output  # refused before anything is built
    assert "armv7 on vm: armv7.yaml has no vm section" in output and "Traceback" not in output


def test_cpio_entries_are_aligned_and_terminated():
    archive = Cpio()
    archive.directory("bin")
    archive.file("bin/x", b"abc", 0o755)
    archive.symlink("bin/sh", "x")
    data = archive.finish()
    assert data.startswith(b"070701") and b"TRAILER!!!\0" in data and len(data) % 4 == 0
    listing = subprocess.run(["cpio", "-t"], input=data, capture_output=True).stdout.decode().split()
    assert listing == ["bin", "bin/x", "bin/sh", "TRAILER!!!"] or listing == ["bin", "bin/x", "bin/sh"]
