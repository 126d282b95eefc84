"""The qemu-user tier: the target's root filesystem entered through binfmt_misc and nsenter.

A started target is one holder process (holder.py) in fresh mount, PID, UTS and
IPC namespaces (plus a user namespace when not root).  It mounts an overlay over
the cached root filesystem, so tests never change the cache, makes it the root
of its mount namespace, and forks the sandbox every command enters (see
holder.py for what the build under test can reach there).  Nothing outlives the
holder: its mounts exist only in its namespaces, and when it exits the kernel
kills every process in its PID namespace.  It exits when its stdin, a pipe from
this process, closes: when stop() is called, or when this Python process dies,
however it dies.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from ...errors import ConfigError, TargetError
from ...host import binfmt
from ...host.tools import host_tool
from ...progress import Progress
from .. import rooted
from ..base import WORK_DIR
from ..host_kernel import HostKernelRunner
from ..output import OutputArea
from ..results import CommandResult, finished_result
from ..process import new_session_dir, read_line, remove_session_dir, run_with_deadline

SESSION_PREFIX = "archsmoke-session-"
_OVERLAY_SEPARATORS = {",", ":"}  # overlayfs splits its mount options at ',' and lowerdir lists at ':'
HOLDER = Path(__file__).with_name("holder.py")  # what the target sees, and why: its docstring


class QemuUserRunner(HostKernelRunner):
    name = "qemu-user"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.rootless = os.geteuid() != 0
        self._holder: subprocess.Popen | None = None
        self._init_pid: int | None = None
        self._sandbox_pid: int | None = None  # where commands enter (the holder itself when rootless)
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
        self.output_area = OutputArea(self._session / "output")
        namespaces = ["--mount", "--propagation", "private", "--pid", "--uts", "--ipc", "--fork", "--kill-child"]
        if self.rootless:
            namespaces = ["--user", "--map-root-user", *namespaces]
        self._holder = subprocess.Popen(
            [self._tools["unshare"], *namespaces, sys.executable, "-I", str(HOLDER), str(self.rootfs.root),
             *(str(self._session / p) for p in ("upper", "work", "merged")), "rootless" if self.rootless else "root"],
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
        self._sandbox_pid = self._init_pid if self.rootless else _only_child(self._init_pid)
        self.started = True
        progress.say(f"overlay on {self.rootfs.key} ready" + (" (rootless)" if self.rootless else ""))

    def _enter(self) -> list[str]:
        """nsenter into the sandbox's namespaces with its root (the target's) and WORK_DIR as working directory
        (both opened through /proc/PID before entering: no chroot binary, no shell to `cd`).  As root, nsenter
        enters the PID namespace, the host root's, before the user namespace that owns the others."""
        assert self._sandbox_pid is not None
        pid = self._sandbox_pid
        enter = [self._tools["nsenter"], f"--target={pid}", "--user", "--mount", "--pid", "--uts", "--ipc", "--root",
                 f"--wd=/proc/{pid}/root{WORK_DIR}"]
        if self.rootless:
            enter.append("--preserve-credentials")
        personality = [self._tools["setarch"], "linux32"] if self.target.needs_32bit_personality else []
        return [*personality, *enter, "--"]

    def _execute(self, argv, env, timeout, stdin) -> CommandResult:
        finished = run_with_deadline([*self._enter(), *argv], env, timeout, stdin, self._spill())
        return finished_result(finished, self.where, timeout)

    def host_path(self, path: str) -> Path:
        """The host's view of a path inside the started target (through the holder's mount namespace)."""
        if not path.startswith("/"):
            raise TargetError(f"paths inside the target must be absolute, got {path!r}")
        return Path(f"/proc/{self._sandbox_pid}/root{path}")

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
