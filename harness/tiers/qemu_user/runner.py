"""The qemu-user tier: the target's root filesystem entered through binfmt_misc and chroot.

A started target is one holder process in fresh mount, PID, UTS and IPC
namespaces (plus a user namespace when not root).  It mounts an overlay over the cached
root filesystem, so tests never change the cache, then waits on a pipe from
this process.  Commands enter its namespaces with nsenter and chroot into the
overlay.  Nothing outlives the holder: its mounts exist only in its mount
namespace, and when it exits the kernel kills every process in its PID
namespace.  It exits when the pipe closes, which happens when stop() is
called or when this Python process dies, however it dies.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from ...errors import ConfigError, TargetError
from ...host import binfmt
from ...host.tools import host_tool
from ...progress import Progress
from .. import rooted
from ..base import WORK_DIR, Runner
from ..results import CommandResult
from ..process import OUTPUT_LIMIT, new_session_dir, read_line, remove_session_dir, run_with_deadline

SESSION_PREFIX = "archsmoke-session-"
_OVERLAY_SEPARATORS = {",", ":"}  # overlayfs splits its mount options at ',' and lowerdir lists at ':'
# The target sees the host's kernel through /proc and /sys, never the host's devices: a /dev of its own (the
# devices programs need, a private pts and shm), and /sys, /proc/sys and the /proc files that reach the kernel
# read-only.  (A program writing to /dev/shm, or cleaning its working directory, reached the host before.)
_HOLDER_SCRIPT = f"""
set -e
lower=$1 upper=$2 work=$3 merged=$4
mount -t overlay overlay -o "lowerdir=$lower,upperdir=$upper,workdir=$work" "$merged"
mount -t proc proc "$merged/proc"
for entry in sys sysrq-trigger irq bus fs; do
  if [ -e "$merged/proc/$entry" ]; then
    mount --bind "$merged/proc/$entry" "$merged/proc/$entry"
    mount -o remount,bind,ro "$merged/proc/$entry"
  fi
done
mount -t tmpfs -o nosuid,mode=755,size=1m archsmoke-dev "$merged/dev"
for device in null zero full random urandom tty; do
  touch "$merged/dev/$device"
  mount --bind "/dev/$device" "$merged/dev/$device"
done
mkdir "$merged/dev/pts" "$merged/dev/shm"
mount -t devpts -o newinstance,ptmxmode=0666,mode=620 devpts "$merged/dev/pts"
ln -s pts/ptmx "$merged/dev/ptmx"
mount -t tmpfs -o nosuid,nodev,mode=1777 archsmoke-shm "$merged/dev/shm"
ln -s /proc/self/fd "$merged/dev/fd"
ln -s /proc/self/fd/0 "$merged/dev/stdin"
ln -s /proc/self/fd/1 "$merged/dev/stdout"
ln -s /proc/self/fd/2 "$merged/dev/stderr"
mount --rbind /sys "$merged/sys"
mount -o remount,bind,ro "$merged/sys"
mkdir -p "$merged{WORK_DIR}"
chmod 1777 "$merged{WORK_DIR}"
echo ready
read _ || true
"""


class QemuUserRunner(Runner):
    name = "qemu-user"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.rootless = os.geteuid() != 0
        self._holder: subprocess.Popen | None = None
        self._init_pid: int | None = None
        self._session: Path | None = None

    @property
    def merged(self) -> Path:
        assert self._session is not None
        return self._session / "merged"

    def start(self) -> None:
        self._tools = {name: host_tool(name, package) for name, package in
                       (("unshare", "util-linux"), ("nsenter", "util-linux"), ("setarch", "util-linux"))}
        binfmt.require_handler(self.target)
        progress = Progress(f"start {self.target.name}", self.options.sink)
        self._session = new_session_dir(SESSION_PREFIX, self.options.work_root)
        for what, path in (("the root filesystem's cache entry", self.rootfs.root), ("the session directory", self._session)):
            if set(str(path)) & _OVERLAY_SEPARATORS:
                self._remove_session()
                raise ConfigError(f"{what} {path} contains ',' or ':', which an overlay mount's options cannot carry",
                                  fix="use a --cache-dir and a TMPDIR without ',' and ':'")
        for part in ("upper", "work", "merged"):
            (self._session / part).mkdir()
        namespaces = ["--mount", "--propagation", "private", "--pid", "--uts", "--ipc", "--fork", "--kill-child"]
        if self.rootless:
            namespaces = ["--user", "--map-root-user", *namespaces]
        self._holder = subprocess.Popen(
            [self._tools["unshare"], *namespaces, "/bin/sh", "-c", _HOLDER_SCRIPT, "holder", str(self.rootfs.root),
             *(str(self._session / p) for p in ("upper", "work", "merged"))],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )
        line = read_line(self._holder.stdout, self.target.timeouts.start)
        if line.strip() != b"ready":
            self._holder.kill()
            _, err = self._holder.communicate()
            self._remove_session()
            raise TargetError(
                f"{self.where} failed to start: the namespace holder exited ({err.decode(errors='replace').strip()})",
                fix="run `python -m archsmoke doctor`; rootless use needs unprivileged user namespaces and overlayfs",
            )
        self._init_pid = _only_child(self._holder.pid)
        self.started = True
        progress.say(f"overlay on {self.rootfs.key} ready" + (" (rootless)" if self.rootless else ""))

    def _enter(self) -> list[str]:
        """nsenter into the holder's namespaces with the overlay as root and WORK_DIR as working directory (both
        opened through the holder's /proc/PID/root before entering: no chroot binary, no shell to `cd`)."""
        assert self._init_pid is not None
        root = f"/proc/{self._init_pid}/root{self.merged}"
        enter = [self._tools["nsenter"], f"--target={self._init_pid}", "--mount", "--pid", "--uts", "--ipc", f"--root={root}",
                 f"--wd={root}{WORK_DIR}"]
        if self.rootless:
            enter += ["--user", "--preserve-credentials"]
        personality = [self._tools["setarch"], "linux32"] if self.target.needs_32bit_personality else []
        return [*personality, *enter, "--"]

    def _execute(self, argv, env, timeout, stdin) -> CommandResult:
        code, out, err, seconds, timed_out = run_with_deadline([*self._enter(), *argv], env, timeout, stdin,
                                                               OUTPUT_LIMIT)
        return CommandResult(command="", where=self.where, exit_code=code, stdout_bytes=out, stderr_bytes=err,
                             duration=seconds, timeout=timeout, timed_out=timed_out)

    def host_path(self, path: str) -> Path:
        """The host's view of a path inside the started target (through the holder's mount namespace)."""
        if not path.startswith("/"):
            raise TargetError(f"paths inside the target must be absolute, got {path!r}")
        return Path(f"/proc/{self._init_pid}/root{self.merged}{path}")

    # The build under test may have left symlinks on the way: the copies resolve them inside the target's tree.
    def _put(self, source: Path, destination: str, mode: int) -> None:
        rooted.copy_into(self.host_path("/"), source, destination, mode)

    def _get(self, source: str, destination: Path) -> None:
        rooted.copy_out(self.host_path("/"), source, destination)

    @property
    def report_label(self) -> str:
        return ""  # the default tier: its column is the target's name alone

    def stop(self) -> None:
        if self._holder is not None:
            try:
                self._holder.communicate(timeout=10)  # closes the pipe; the holder's `read` returns
            except subprocess.TimeoutExpired:
                self._holder.kill()
                self._holder.communicate()
            self._holder = None
        self.started = False
        self._remove_session()

    def _remove_session(self) -> None:
        if self._session is not None:
            remove_session_dir(self._session)
            self._session = None


def _only_child(pid: int) -> int:
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    if len(children) != 1:
        raise TargetError(f"namespace holder {pid} has {len(children)} children, expected 1")
    return int(children[0])
