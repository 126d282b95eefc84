"""The SSH tier's runner: a real machine of the target's arch, reached over one OpenSSH master connection.

Nothing is installed as root and nothing is left behind: the binary under test, its venv, HOME and TMPDIR
live in the run's work directory on the machine (own_path), which the holder removes when the run ends.
Servers the tests start on this host's loopback reach the machine through reverse forwards of the same
connection (host_url), so the machine needs no route back to this host.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import uuid
from pathlib import Path

from ...errors import TargetError
from ...progress import Progress
from ..base import Runner
from ..process import new_session_dir, remove_session_dir, run_with_deadline
from ..output import OutputArea
from ..results import CommandResult, finished_result, signal_exit_code
from .connection import KILL, Connection
from .machine import FACTS_SCRIPT, MachineFacts, check
from .settings import SshSettings

SESSION_PREFIX = "archsmoke-ssh-"
_PUT = ('set -e; mkdir -p "${0%/*}"; t="$0.archsmoke-part"; cat > "$t"; chmod "$1" "$t"; mv -f "$t" "$0"; '
        'sha256sum "$0"')
_GET = 'sha256sum "$0" >&2 && exec cat "$0"'


class SshRunner(Runner):
    name = "ssh"
    boots_own_kernel = True  # the machine's own kernel: its page size, its syscalls

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.options.settings is None:
            self.options.settings = SshSettings()
        settings: SshSettings = self.options.settings
        self.machine = settings.machines.get(self.target.name)
        self.facts: MachineFacts | None = None
        self.connection: Connection | None = None
        self._session: Path | None = None
        self._forwards: dict[int, int] = {}  # this host's loopback port -> the machine's

    @property
    def where(self) -> str:
        machine = self.machine.describe() if self.machine else "no machine"
        return f"{self.target.name} (ssh machine {machine})"

    # The machine runs the binary on its own CPU: no emulator, no CPU-floor mark (the base's defaults).

    @property
    def has_python(self) -> bool:
        return self.facts.has_python if self.facts else False

    @property
    def without_python(self) -> str:
        why = self.facts.without_python if self.facts else "it is not connected"
        return f"the {self.target.name} machine {self.machine.describe() if self.machine else ''} cannot install " \
               f"a wheel: {why}"

    @property
    def disposable(self) -> bool:
        return False

    @property
    def root_description(self) -> str:
        if self.facts is None:
            return "?"
        return f"machine {self.machine.describe()} ({self.facts.hostname}, {self.facts.libc})"

    @property
    def kernel_facts(self) -> dict[str, str]:
        facts = self.facts
        assert facts is not None
        return {"kernel_release": facts.kernel, "page_size": str(facts.page_size), "cpu": facts.cpu,
                "machine": f"{self.machine.describe()} ({facts.hostname})"}

    def own_path(self, path: str) -> str:
        assert self.connection is not None and self.connection.work_dir is not None
        return f"{self.connection.work_dir}{path}"

    def environment(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        env = super().environment()
        if self.connection is not None and self.connection.work_dir is not None:
            env.update(HOME=self.own_path("/home"), TMPDIR=self.own_path("/tmp"))
        env.update(extra or {})
        return env

    def start(self) -> None:
        if self.machine is None:
            raise TargetError(f"{self.where}: the ssh tier has no machine for {self.target.name}",
                              fix=f"--ssh-host {self.target.name}=USER@HOST")
        progress = Progress(f"start {self.target.name}", self.options.sink)
        progress.say(f"connecting to {self.machine.describe()}")
        self._session = new_session_dir(SESSION_PREFIX, self.options.work_root)
        self.output_area = OutputArea(self._session / "output")
        self.connection = Connection(self.machine, self.options.settings, self._session, self.target.timeouts.start)
        try:
            work_dir = self.connection.open()
            self.started = True
            result = self._plain(["/bin/sh", "-c", FACTS_SCRIPT], 60)
            if result.exit_code != 0:
                raise TargetError(f"reading what {self.where} is failed: {result.stderr.strip()}")
            self.facts = MachineFacts.parse(result.stdout)
            check(self.facts, self.target, self.where)
        except BaseException:
            self.stop()
            raise
        progress.say(f"{self.facts.hostname}: {self.facts.machine}, {self.facts.libc}, kernel {self.facts.kernel}, "
                     f"{self.facts.page_size // 1024} KiB pages, CPU {self.facts.cpu}; work directory {work_dir}")

    def _plain(self, argv: list[str], timeout: float, stdin: bytes | None = None,
               stdout_to: Path | None = None) -> CommandResult:
        """A command of archsmoke's own (no wrapper, no environment of the tests)."""
        assert self.connection is not None
        finished = run_with_deadline(self.connection.command(argv), dict(os.environ), timeout, stdin,
                                     stdout_to=stdout_to)
        result = finished_result(finished, self.where, timeout)
        result.command = " ".join(argv[:2])
        return result

    def _execute(self, argv, env, timeout, stdin) -> CommandResult:
        assert self.connection is not None
        command_id = uuid.uuid4().hex
        local = self.connection.wrapped(command_id, ["env", "-i", *(f"{k}={v}" for k, v in env.items()), *argv])
        finished = run_with_deadline(local, dict(os.environ), timeout, stdin, self._spill())
        if finished.timed_out:  # the local client is gone; the command and all it started still run on the machine
            self._plain(["/bin/sh", "-c", KILL, self.connection.work_dir, command_id], 60)
        elif finished.exit_code == 255 and not self.connection.alive:
            said = finished.stderr.decode(errors="replace").strip()
            raise TargetError(f"the connection to {self.where} was lost while `{argv[0]}` ran: {said}")
        # The wrapper's shell says 128+N for a command killed by signal N; every tier reports it as -N.
        return finished_result(finished, self.where, timeout, signal_exit_code(finished.exit_code))

    def _put(self, source: Path, destination: str, mode: int) -> None:
        data = source.read_bytes()
        result = self._plain(["/bin/sh", "-c", _PUT, destination, f"{mode:o}"], self.target.timeouts.install, data)
        sent = hashlib.sha256(data).hexdigest()
        if not result.ok:
            raise TargetError(f"copying {source} to {destination} on {self.where} failed: "
                              f"{result.stderr.strip() or result.report()}")
        if result.stdout.split()[:1] != [sent]:
            raise TargetError(f"{destination} on {self.where} does not hold what was sent: sha256 {sent} sent, "
                              f"{result.stdout.strip()!r} there")

    def _get(self, source: str, destination: Path) -> None:
        arriving = destination.with_name(f".{destination.name}.archsmoke-part")
        try:
            result = self._plain(["/bin/sh", "-c", _GET, source], self.target.timeouts.install, stdout_to=arriving)
            if not result.ok:
                raise TargetError(f"copying {source} out of {self.where} failed: "
                                  f"{result.stderr.strip() or result.report()}")
            said = result.stderr.split()[:1]
            with open(arriving, "rb") as arrived:
                if said != [hashlib.file_digest(arrived, "sha256").hexdigest()]:
                    raise TargetError(f"{source} from {self.where} arrived damaged: the machine's sha256 is {said}")
            os.replace(arriving, destination)
        finally:
            arriving.unlink(missing_ok=True)

    def reach_host(self, port: int | None) -> tuple[str, int | None]:
        """A port of this host's loopback through a reverse forward of the connection: at the machine's own
        127.0.0.1, on the port the forward got."""
        if port is None:
            raise TargetError(f"a server on this host's loopback without a port cannot be forwarded to {self.where}")
        if port not in self._forwards:
            self._forwards[port] = self._forward(port)
        return "127.0.0.1", self._forwards[port]

    def _forward(self, port: int) -> int:
        assert self.connection is not None
        argv = self.connection.control_command("forward", "-R", f"127.0.0.1:0:127.0.0.1:{port}")
        result = subprocess.run(argv, capture_output=True, timeout=60)
        found = re.match(rb"\s*(\d+)\s*$", result.stdout)
        if result.returncode != 0 or not found:
            raise TargetError(f"forwarding this host's port {port} to {self.where} failed: "
                              f"{result.stderr.decode(errors='replace').strip() or result.stdout!r}",
                              fix="allow TCP forwarding for this user in the machine's sshd_config "
                                  "(AllowTcpForwarding yes)")
        return int(found[1])

    def stop(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None
        self._forwards.clear()
        self.started = False
        if self._session is not None:
            remove_session_dir(self._session)
            self._session = None
