"""The qemu-user tier: the target's root filesystem entered through binfmt_misc and chroot.

A started target is one holder process in fresh mount and PID namespaces
(plus a user namespace when not root).  It mounts an overlay over the cached
root filesystem, so tests never change the cache, then waits on a pipe from
this process.  Commands enter its namespaces with nsenter and chroot into the
overlay.  Nothing outlives the holder: its mounts exist only in its mount
namespace, and when it exits the kernel kills every process in its PID
namespace.  It exits when the pipe closes, which happens when stop() is
called or when this Python process dies, however it dies.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from ...errors import ConfigError, TargetError
from ...host import binfmt
from ...host.tools import host_tool
from ...progress import Progress
from ..base import Runner
from ..results import CommandResult
from ..process import new_session_dir, read_line, remove_session_dir, run_with_deadline

SESSION_PREFIX = "archsmoke-session-"
_OVERLAY_SEPARATORS = {",", ":"}  # overlayfs splits its mount options at ',' and lowerdir lists at ':'
_HOLDER_SCRIPT = """
set -e
lower=$1 upper=$2 work=$3 merged=$4
mount -t overlay overlay -o "lowerdir=$lower,upperdir=$upper,workdir=$work" "$merged"
mount -t proc proc "$merged/proc"
mount --rbind /dev "$merged/dev"
mount --rbind /sys "$merged/sys"
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
                       (("unshare", "util-linux"), ("nsenter", "util-linux"), ("chroot", "coreutils"),
                                             ("setarch", "util-linux"))}
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
        namespaces = ["--mount", "--propagation", "private", "--pid", "--fork", "--kill-child"]
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
        assert self._init_pid is not None
        enter = [self._tools["nsenter"], f"--target={self._init_pid}", "--mount", "--pid"]
        if self.rootless:
            enter += ["--user", "--preserve-credentials"]
        personality = [self._tools["setarch"], "linux32"] if self.target.needs_32bit_personality else []
        return [*enter, "--", *personality, self._tools["chroot"], str(self.merged)]

    def _execute(self, argv, env, timeout, stdin) -> CommandResult:
        code, out, err, seconds, timed_out = run_with_deadline([*self._enter(), *argv], env, timeout, stdin)
        return CommandResult(command="", where=self.where, exit_code=code, stdout_bytes=out, stderr_bytes=err,
                             duration=seconds, timeout=timeout, timed_out=timed_out)

    def host_path(self, path: str) -> Path:
        """The host's view of a path inside the started target (through the holder's mount namespace)."""
        if not path.startswith("/"):
            raise TargetError(f"paths inside the target must be absolute, got {path!r}")
        return Path(f"/proc/{self._init_pid}/root{self.merged}{path}")

    def _put(self, source: Path, destination: str, mode: int) -> None:
        target_path = self.host_path(destination)
        target_path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target_path)
        os.chmod(target_path, mode)

    def _get(self, source: str, destination: Path) -> None:
        shutil.copyfile(self.host_path(source), destination)

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
