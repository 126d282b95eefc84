"""The VM tier against a build that attacks it from inside: as root in the target, through the VM's console, its
devices, its kernel and the sandbox itself (tiers/vm/guest.py).  A real ppc64le Debian kernel under qemu-system, the
real agent; each attack is a program run in the target as the build under test runs."""

from __future__ import annotations

import json

import pytest

from archsmoke.errors import TargetError
from archsmoke.tiers import RunnerOptions
from archsmoke.tiers.vm import VmRunner
from probes import ESCAPE, PREAMBLE

# Every way a program might reach the console the results travel on, each written with frames for the next
# commands, in the old form and the new (a guessed nonce).  Ends by dying of SIGSEGV.
FORGER = r"""
reached=""
for device in /dev/console /dev/hvc0 /dev/hvc1 /dev/ttyS0 /dev/tty0 /dev/tty1 /dev/kmsg /dev/ttyprintk /dev/vport0p1; do
  [ -c "$device" ] || continue
  for n in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
    printf '@@archsmoke-done %s 0@@\n@@archsmoke-done %s 0 %s@@\n' "$n" "$n" 00000000000000000000000000000000
  done 2>/dev/null > "$device" && reached="$reached $device"
done
for made in console:5:1 hvc0:229:0 ttyS0:4:64 kmsg:1:11 vda:254:0; do
  name=${made%%:*}; rest=${made#*:}
  mknod "/tmp/$name" c "${rest%%:*}" "${rest#*:}" 2>/dev/null && [ -c "/tmp/$name" ] && echo '@@archsmoke-done 9 0@@' > "/tmp/$name" 2>/dev/null \
    && reached="$reached mknod:$name"
done
mkdir -p /tmp/mnt && mount -t devtmpfs devtmpfs /tmp/mnt 2>/dev/null && reached="$reached devtmpfs"
for fd in /proc/[0-9]*/fd/*; do
  case "$(readlink "$fd" 2>/dev/null)" in */dev/console|*/dev/hvc*|*/dev/tty*) reached="$reached $fd";; esac
done
echo "reached:$reached"
kill -SEGV $$
"""

# As root in the sandbox: every privileged way out, each reported by what it met.
PROBE = PREAMBLE + r"""
attempt("mknod_console", lambda: os.mknod("/tmp/console", 0o20600, os.makedev(5, 1)))
attempt("mount_devtmpfs", lambda: mount("devtmpfs", "/tmp/devtmpfs", "devtmpfs"))
attempt("mount_9p_share", lambda: mount("archsmoke", "/tmp/share", "9p"))
attempt("mount_proc", lambda: mount("proc", "/tmp/proc", "proc"))
attempt("write_printk", lambda: open("/proc/sys/kernel/printk", "w").write("7"))
attempt("write_sysrq", lambda: open("/proc/sysrq-trigger", "w").write("h"))
attempt("read_pid1_root", lambda: os.listdir("/proc/1/root"))
attempt("remount_sys_rw", lambda: mount(None, "/sys", None, 0x20))
attempt("init_module", lambda: call(libc.init_module(None, 0, b"")))
""" + ESCAPE + r"""
# Beyond the target's root: whether it holds the share or the VM's devices, and whether it can be changed.
out["share_beyond"] = sorted(os.listdir("/share")) if os.path.isdir("/share") else None
out["dev_beyond"] = sorted(os.listdir("/dev")) if os.path.isdir("/dev") else None
attempt("write_beyond", lambda: open("/agent", "a").write("echo owned\n"))
attempt("create_beyond", lambda: open("/owned", "w").write("x"))
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def vm(built, catalog, cache):
    with VmRunner(catalog.get("ppc64le"), built("ppc64le"), RunnerOptions(cache=cache)) as runner:
        yield runner


def test_forged_frames_reach_nothing_and_the_real_result_stands(vm):
    """A program that writes result frames wherever a console might be, and dies of SIGSEGV, is reported as what it
    is; the commands after it get their own results."""
    result = vm.run(FORGER)
    assert result.exit_code == -11, result.report()
    assert result.stdout.strip() == "reached:", result.stdout  # no console, tty, kmsg or made device was writable
    for number in range(3):
        assert vm.run(f"echo real {number}; exit {number}").stdout == f"real {number}\n"
        assert vm.run(f"exit {number + 3}").exit_code == number + 3


def test_a_frame_printed_on_stdout_is_output(vm):
    result = vm.run("echo '@@archsmoke-done 1 0@@'; echo '@@archsmoke-ready x y 4@@'; exit 7")
    assert result.exit_code == 7 and "@@archsmoke-done 1 0@@" in result.stdout


def test_root_in_the_sandbox_reaches_no_device_mount_or_kernel_setting(vm):
    result = vm.run(["python3", "-c", PROBE]).check()
    met = json.loads(result.stdout)
    for attempt in ("mknod_console", "mount_devtmpfs", "mount_9p_share", "mount_proc", "remount_sys_rw", "init_module"):
        assert met[attempt] == "EPERM", (attempt, met)
    assert met["write_printk"] == "EROFS" and met["write_sysrq"] == "EROFS", met
    assert met["read_pid1_root"] == "EACCES", met
    # Beyond the target's root: the initramfs, read-only, without the share's contents or the VM's devices.
    assert "agent" in met["beyond_root"] and met["share_beyond"] == [] and met["dev_beyond"] == ["null"], met
    assert met["write_beyond"] == "EROFS" and met["create_beyond"] == "EROFS", met
    assert vm.run("echo still; exit 5").exit_code == 5  # the agent is untouched


def test_files_are_root_s_as_on_a_real_machine(vm):
    """The identity map: the sandbox's root owns the target's files and can give them away, as root can."""
    out = vm.run("id -u; stat -c %u /etc/passwd; touch f && chown 1000:1000 f && stat -c %u:%g f").check().stdout
    assert out.split() == ["0", "0", "1000:1000"]


def test_a_build_that_kills_the_sandbox_gets_an_error_not_a_result(built, catalog, cache):
    with VmRunner(catalog.get("ppc64le"), built("ppc64le"), RunnerOptions(cache=cache)) as runner:
        with pytest.raises(TargetError, match="the sandbox the commands run in is gone"):
            runner.run("kill -KILL -1; exit 0")
