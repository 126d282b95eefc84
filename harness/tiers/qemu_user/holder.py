"""The qemu-user tier's namespace holder: run by this host's Python as PID 1 of the target's PID namespace.

Started by ``unshare --mount --pid --uts --ipc --fork`` (plus ``--user
--map-root-user`` when not root), with the cached root, and the session's
upper, work and merged directories as arguments.  It builds the target's view:

- an overlay over the cached root (tests never change the cache);
- a fresh /proc, with the files that reach the kernel read-only;
- a /dev of its own: null, zero, full, random, urandom and tty bound from the
  host's, a private pts and shm, the usual links into /proc;
- /sys read-only (a fresh sysfs as root; the host's bound read-only when rootless);
- WORK_DIR, where every command starts.

Then it makes the overlay the root of its mount namespace (pivot_root; the host's
tree is detached, so nothing beyond the target is left to reach, even by a
program that calls chroot itself), and, as root, forks the sandbox: a process in
a user namespace with the identity map (files behave as for root; no capability
reaches beyond it: no device nodes, no mounts of real file systems, no modules)
and in mount, UTS and IPC namespaces of that user namespace, whose mounts are a
locked copy of these.  Commands enter the sandbox's namespaces.  It prints
``ready`` and waits for its stdin to close: then it exits, and the kernel kills
everything in the PID namespace.

Standard library only: it also runs with a bare system python3 (rootless use).
"""

from __future__ import annotations

import ctypes
import os
import platform
import sys

WORK_DIR = "/tmp/archsmoke-work"  # tiers/base.py's; this file runs on its own
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = \
    1, 2, 4, 8, 32, 4096, 16384, 1 << 18
MNT_DETACH = 2
CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWUSER = 0x20000, 0x4000000, 0x8000000, 0x10000000
# pivot_root has no libc wrapper; its number on each host arch archsmoke runs on.
PIVOT_ROOT = {"x86_64": 155, "aarch64": 41, "riscv64": 41, "ppc64le": 203, "ppc64": 203, "s390x": 217,
              "i686": 217, "i386": 217, "armv7l": 218, "armv8l": 218}
DEVICES = ("null", "zero", "full", "random", "urandom", "tty")
READ_ONLY_PROC = ("sys", "sysrq-trigger", "irq", "bus", "fs")

libc = ctypes.CDLL(None, use_errno=True)


def check(result: int, what: str) -> None:
    if result != 0:
        error = ctypes.get_errno()
        raise OSError(error, f"{what}: {os.strerror(error)}")


def mount(source: str | None, target: str, fstype: str | None, flags: int = 0, data: str | None = None) -> None:
    check(libc.mount(source and source.encode(), target.encode(), fstype and fstype.encode(), flags,
                     data and data.encode()), f"mount {fstype or 'bind'} on {target}")


def bind_read_only(path: str) -> None:
    mount(path, path, None, MS_BIND)
    mount(None, path, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)


def build_view(lower: str, upper: str, work: str, merged: str, rootless: bool) -> None:
    mount("overlay", merged, "overlay", 0, f"lowerdir={lower},upperdir={upper},workdir={work}")
    mount("proc", f"{merged}/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    for entry in READ_ONLY_PROC:
        if os.path.exists(f"{merged}/proc/{entry}"):
            bind_read_only(f"{merged}/proc/{entry}")
    dev = f"{merged}/dev"
    mount("archsmoke-dev", dev, "tmpfs", MS_NOSUID, "mode=755,size=1m")
    for device in DEVICES:
        open(f"{dev}/{device}", "w").close()
        mount(f"/dev/{device}", f"{dev}/{device}", None, MS_BIND)
    os.mkdir(f"{dev}/pts")
    os.mkdir(f"{dev}/shm")
    mount("devpts", f"{dev}/pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=620")
    os.symlink("pts/ptmx", f"{dev}/ptmx")
    mount("archsmoke-shm", f"{dev}/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777")
    for name, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"), ("stdout", "/proc/self/fd/1"),
                         ("stderr", "/proc/self/fd/2")):
        os.symlink(target, f"{dev}/{name}")
    if rootless:  # a user namespace that does not own the network namespace cannot mount a sysfs
        mount("/sys", f"{merged}/sys", None, MS_BIND | MS_REC)
        mount(None, f"{merged}/sys", None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC)
    else:
        mount("sysfs", f"{merged}/sys", "sysfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC)
    os.makedirs(f"{merged}{WORK_DIR}", exist_ok=True)
    os.chmod(f"{merged}{WORK_DIR}", 0o1777)


def become_root_of(merged: str) -> None:
    """pivot_root(".", ".") stacks the old root on the new one; detaching it leaves only the target."""
    os.chdir(merged)
    check(libc.syscall(PIVOT_ROOT[platform.machine()], b".", b"."), "pivot_root")
    check(libc.umount2(b".", MNT_DETACH), "detaching the host's tree")
    os.chdir("/")


def start_sandbox() -> int:
    """Fork the sandbox's process (see the module's doc); returns its PID once it is in place."""
    to_child_r, to_child_w = os.pipe()
    to_parent_r, to_parent_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(to_child_w)
            os.close(to_parent_r)
            check(libc.unshare(CLONE_NEWUSER), "unshare(user)")
            os.write(to_parent_w, b"u")
            os.read(to_child_r, 1)  # the identity map is written
            check(libc.unshare(CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC), "unshare(mount, uts, ipc)")
            mount(None, "/", None, MS_REC | MS_PRIVATE)
            os.chdir(WORK_DIR)
            os.write(to_parent_w, b"r")
            os.close(to_parent_w)
            os.read(to_child_r, 1)  # the holder's end closes when it exits; the PID namespace goes with it
        except BaseException as error:
            os.write(2, f"the sandbox could not be set up: {error}\n".encode())
        os._exit(0)
    os.close(to_child_r)
    os.close(to_parent_w)
    if os.read(to_parent_r, 1) != b"u":
        raise OSError("the sandbox's process exited before making its user namespace")
    for kind in ("uid_map", "gid_map"):
        with open(f"/proc/{pid}/{kind}", "w") as ids:
            ids.write("0 0 4294967295\n")
    os.write(to_child_w, b"m")
    if os.read(to_parent_r, 1) != b"r":
        raise OSError("the sandbox's process exited before it was in place")
    return pid


def main(lower: str, upper: str, work: str, merged: str, mode: str) -> None:
    rootless = mode == "rootless"  # root of a user namespace of an unprivileged user's: no sandbox to add
    build_view(lower, upper, work, merged, rootless)
    become_root_of(merged)
    if not rootless:
        start_sandbox()
    print("ready", flush=True)
    sys.stdin.buffer.read()


if __name__ == "__main__":
    try:
        main(*sys.argv[1:6])
    except OSError as error:
        print(f"holder: {error}", file=sys.stderr, flush=True)
        sys.exit(1)
