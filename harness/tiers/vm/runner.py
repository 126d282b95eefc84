"""The full-system tier's runner: one qemu-system VM per target, booting the target's own kernel.

A start makes (or reuses from the cache) the kernel with its initramfs and the
root disk, then boots them with the disk under -snapshot: QEMU keeps the
writes in a temporary overlay in this run's session directory, so the cached
disk is never modified and two workers can boot it at once.  The session
directory also holds the share through which commands and files pass (see
guest.py for the protocol) and the console log.

Nothing outlives the harness: QEMU gets the parent-death signal, and a reaper
process holding a pipe from this process kills QEMU and removes the session
directory as soon as the pipe closes, which happens when stop() is called or
when this process dies, even by SIGKILL.
"""

from __future__ import annotations

import itertools
import math
import os
import re
import secrets
import shlex
import shutil
import subprocess
import time
from pathlib import Path

from ...errors import TargetError
from ...progress import Progress
from ..base import Runner
from ..results import CommandResult, signal_exit_code
from ..output import OutputArea, from_file
from ..process import new_session_dir, remove_session_dir
from . import boot, disk, guest, machine
from .console import READY, Console
from .spec import vm_spec

SESSION_PREFIX = "archsmoke-vm-"
CONSOLE_LOG = "console.log"
# Time the agent needs beyond a command's budget to kill it and answer (the guest is emulated).
ANSWER_GRACE = 30.0
_REAPER = 'read _; kill -KILL "$1" 2>/dev/null; while kill -0 "$1" 2>/dev/null; do sleep 0.1; done; rm -rf "$2"'


class VmRunner(Runner):
    name = "vm"
    host_address = guest.HOST_GATEWAY  # QEMU's user-mode network maps the host's loopback there
    boots_own_kernel = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.console: Console | None = None
        self.boot_files: boot.BootFiles | None = None
        self._facts: dict[str, str] = {}
        self.console_text = ""
        self._session: Path | None = None
        self._reaper: subprocess.Popen | None = None
        self._ids = itertools.count(1)

    @property
    def where(self) -> str:
        return f"{self.target.name} (vm runner, {vm_spec(self.target).qemu if vm_spec(self.target) else 'no VM defined'})"

    # The guest's own kernel runs the binaries: no qemu-user inside it (the base's emulated, cpu and
    # marks_binary_under_test), the VM's -cpu applies and is in kernel_facts.

    @property
    def report_label(self) -> str:
        return "vm"

    @property
    def kernel_facts(self) -> dict[str, str]:
        return dict(self._facts)

    def transcript(self, limit: int = 200_000) -> str:
        console = self.console.log() if self.console is not None else self.console_text
        return super().transcript(limit) + f"\n## console of {self.where}\n{console[-limit:]}\n"

    @property
    def share(self) -> Path:
        assert self._session is not None
        return self._session / "share"

    def start(self) -> None:
        if vm_spec(self.target) is None:
            raise TargetError(f"{self.target.name} has no vm section in {self.target.source.name}, so the VM tier "
                              "cannot boot it", fix="run it on another tier, or add a vm section (see vms/README.md)")
        if self.rootfs is None or self.options.cache is None:
            raise TargetError(f"{self.where}: the VM tier needs the target's root filesystem and the cache")
        binary = machine.require_runnable(self.target)
        self.boot_files = boot.ensure(self.target, self.options.cache, self.options.mirror, self.options.sink)
        root_disk = disk.ensure(self.rootfs, self.options.cache, self.options.sink)
        self._session = new_session_dir(SESSION_PREFIX, self.options.work_root)
        (self.share / "cmd").mkdir(parents=True)
        self.output_area = OutputArea(self._session / "output")  # beside the share: the guest cannot reach it
        argv = machine.command_line(binary, self.target, self.boot_files.kernel, self.boot_files.initramfs,
                                    root_disk.image, self.share)
        progress = Progress(f"boot {self.target.name}", self.options.sink)
        progress.say(f"booting {self.boot_files.release} on {vm_spec(self.target).machine} ({vm_spec(self.target).cpu})")
        self.console = Console(argv, self._session / CONSOLE_LOG, {**os.environ, "TMPDIR": str(self._session)},
                               self.where)
        self._reaper = subprocess.Popen(["/bin/sh", "-c", _REAPER, "reaper", str(self.console.pid), str(self._session)],
                                        stdin=subprocess.PIPE, start_new_session=True)
        try:
            match = self.console.expect(READY, self.target.timeouts.start, "booting to the agent", progress)
        except TargetError:
            self.stop()
            raise
        release, uname, page = (m.decode() for m in match.groups())
        self._facts = {"kernel_release": release, "page_size": str(int(page) * 1024),
                      "machine": vm_spec(self.target).machine,
                       "cpu": "host" if machine.kvm_usable(self.target) else vm_spec(self.target).cpu,
                      "accelerator": "kvm" if machine.kvm_usable(self.target) else "tcg"}
        self.started = True
        if uname != self.target.arch.uname:
            self.stop()
            raise TargetError(f"{self.where} booted a kernel that runs as {uname}, not {self.target.arch.uname}",
                              fix=f"check vm.kernel.package in {self.target.source.name}")
        if int(page) * 1024 != self.target.page_size:
            self.stop()
            raise TargetError(f"{self.where} booted a kernel with {page} KiB pages, but {self.target.source.name} "
                              f"says page_size: {self.target.page_size}",
                              fix="make page_size the kernel's, or choose the kernel package that has it")
        progress.say(f"ready: {uname}, kernel {release}, {int(page)} KiB pages")

    def _execute(self, argv, env, timeout, stdin) -> CommandResult:
        return self._run_in_guest(argv, env, stdin or b"", " ".join(argv), timeout)

    def _run_in_guest(self, argv: list[str], env: dict[str, str], stdin: bytes | Path, shown: str, timeout: float,
                      keep_stdout: Path | None = None) -> CommandResult:
        """Leave the command and its stdin in the share, have the agent run it in the sandbox, read back what it
        said (`keep_stdout`: move the whole stdout there instead of reading it)."""
        assert self.console is not None
        number = next(self._ids)
        directory = self.share / "cmd" / str(number)
        directory.mkdir()
        assignments = " ".join(shlex.quote(f"{k}={v}") for k, v in env.items())
        (directory / "script").write_text(f"exec env -i {assignments} {guest.ENTER} {shlex.join(argv)}\n")
        if isinstance(stdin, Path):
            shutil.copyfile(stdin, directory / "stdin")
        else:
            (directory / "stdin").write_bytes(stdin)
        budget = max(1, math.ceil(timeout))
        nonce = secrets.token_hex(16)
        started = time.monotonic()
        self.console.send_line(f"run {number} {budget} {nonce}")
        frame = re.escape(f"{guest.DONE} {number} ".encode()) + rb"(\S+) " + re.escape(f"{nonce}@@".encode())
        match = self.console.expect(frame, budget + ANSWER_GRACE, f"running `{shown}`")
        seconds = time.monotonic() - started
        said = match.group(1).decode(errors="replace")
        if said == "sandbox-gone":
            raise TargetError(f"{self.where}: the sandbox the commands run in is gone after `{shown}` (its process "
                              "was killed: the build under test can do that, nothing else in the VM does)")
        code = int(said)
        timed_out = (directory / "timed-out").exists()
        spill = self._spill()
        if keep_stdout is not None and code == 0:
            shutil.move(directory / "stdout", keep_stdout)
            stdout, stdout_file = b"", None
        else:
            stdout, stdout_file = from_file(directory / "stdout", spill[0])
        stderr, stderr_file = from_file(directory / "stderr", spill[1])
        result = CommandResult(command="", where=self.where, exit_code=-9 if timed_out else signal_exit_code(code),
                               stdout_bytes=stdout, stderr_bytes=stderr, duration=seconds, timeout=timeout,
                               timed_out=timed_out, stdout_file=stdout_file, stderr_file=stderr_file)
        shutil.rmtree(directory, ignore_errors=True)
        return result

    # Files are copied by the target's own sh and cat in the sandbox: paths resolve in the target, as any
    # program's would, whatever links the build under test left.
    def _put(self, source: Path, destination: str, mode: int) -> None:
        script = ('mkdir -p "$(dirname "$1")" && cat > "$1.archsmoke-put" && chmod "$2" "$1.archsmoke-put" '
                  '&& mv -f "$1.archsmoke-put" "$1"')
        self._file_command(["/bin/sh", "-c", script, "put", destination, f"{mode:o}"], source, None,
                           f"copying {source.name} to {destination}")

    def _get(self, source: str, destination: Path) -> None:
        script = '[ -f "$1" ] || { echo "$1: no such regular file" >&2; exit 1; }; exec cat -- "$1"'
        self._file_command(["/bin/sh", "-c", script, "get", source], b"", destination, f"copying {source} out")

    def _file_command(self, argv: list[str], stdin: bytes | Path, keep_stdout: Path | None, doing: str) -> None:
        result = self._run_in_guest(argv, self.environment(), stdin, doing, self.target.timeouts.install, keep_stdout)
        if not result.ok:
            raise TargetError(f"{doing} failed in {self.where}: {result.stderr.strip() or result.report()}")

    def stop(self) -> None:
        if self.console is not None:
            self.console_text = self.console.log()
            self.console.close()
            self.console = None
        if self._reaper is not None:
            try:
                self._reaper.communicate(timeout=30)  # closes the pipe: the reaper removes the session
            except subprocess.TimeoutExpired:
                self._reaper.kill()
            self._reaper = None
        elif self._session is not None:
            remove_session_dir(self._session)
        self._session = None
        self.started = False

