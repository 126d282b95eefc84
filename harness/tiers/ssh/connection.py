"""One OpenSSH master connection per machine, and the commands multiplexed over it.

The master's own session runs the holder below: it makes the run's work directory on the machine, says
where, and waits on its stdin, a pipe from this process.  However this process ends (stop(), an
exception, SIGKILL), the pipe closes, the holder's read returns, and it kills every command of the run
still going (each runs in a process group of its own, recorded in the work directory) and removes the
directory.  Commands over SSH without a terminal are not signalled when their connection drops, so
this is what makes "the remote side ends with the connection" true.
"""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

from ...errors import TargetError
from ...host.tools import host_tool
from ..process import read_line
from .settings import Machine, SshSettings

# HUP and PIPE ignored: a dropped connection must still reach the cleanup after `read`.
HOLDER = r"""trap '' HUP PIPE INT TERM
base=${XDG_CACHE_HOME:-$HOME/.cache}/archsmoke
mkdir -p "$base" && d=$(mktemp -d "$base/run.XXXXXXXX") && mkdir "$d/.pids" "$d/home" "$d/tmp" || exit 1
echo "ready $d"
read _
for f in "$d"/.pids/*; do [ -f "$f" ] && read group rest < "$f" && kill -s KILL -- "-$group" $rest 2>/dev/null; done
chmod -R u+rwX "$d" 2>/dev/null; rm -rf "$d"; rmdir "$base" 2>/dev/null
exit 0
"""

# Each command: its own session (setsid: a process group to kill whole, background jobs included), recorded
# under its id while it runs with the shells around it (the wrapper and the login shell that started it, whose
# command lines carry the command's words).  A backgrounded command's stdin would be /dev/null: fd 3 is ours.
WRAPPER = r"""d=$1 id=$2; shift 2
exec 3<&0
setsid "$@" <&3 3<&- &
pid=$!
echo "$pid $$ $PPID" > "$d/.pids/$id"
wait "$pid"; rc=$?
rm -f "$d/.pids/$id"
exit $rc
"""

# A command past its budget: its process group, then the shells around it (one signal each, no wait).
KILL = r"""f="$0/.pids/$1"; [ -f "$f" ] || exit 0
read group wrapper login < "$f"
kill -s KILL -- "-$group" 2>/dev/null; kill -s KILL "$wrapper" "$login" 2>/dev/null; rm -f "$f"; exit 0
"""

# What ssh says when the machine's key is not the one known_hosts holds, or is not there at all.
_CHANGED_KEY = "REMOTE HOST IDENTIFICATION HAS CHANGED"
_UNKNOWN_KEY = "Host key verification failed"


class Connection:
    def __init__(self, machine: Machine, settings: SshSettings, control_dir: Path, connect_timeout: float):
        self.machine = machine
        self.settings = settings
        self.control = control_dir / "control"
        self.connect_timeout = connect_timeout
        self._ssh = host_tool("ssh", "openssh-client")
        self._master: subprocess.Popen | None = None
        self._master_log = control_dir / "master.log"
        self.work_dir: str | None = None

    def _options(self) -> list[str]:
        options = ["-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes",
                   "-o", f"ConnectTimeout={max(1, int(self.connect_timeout))}",
                   "-o", "ServerAliveInterval=15", "-o", "ServerAliveCountMax=4", "-o", "LogLevel=ERROR"]
        if self.settings.known_hosts is not None:
            options += ["-o", f"UserKnownHostsFile={self.settings.known_hosts}", "-o", "GlobalKnownHostsFile=/dev/null"]
        if self.settings.identity is not None:
            options += ["-i", str(self.settings.identity), "-o", "IdentitiesOnly=yes"]
        if self.machine.port is not None:
            options += ["-p", str(self.machine.port)]
        return options

    def command(self, remote: list[str]) -> list[str]:
        """The local argv that runs `remote` on the machine over the master connection (the remote side gets
        one string, which the login shell splits: every word is quoted)."""
        return [self._ssh, "-S", str(self.control), "-o", "ControlMaster=no", *self._options(), "-T",
                self.machine.destination, "--", shlex.join(remote)]

    def control_command(self, operation: str, *args: str) -> list[str]:
        """`ssh -O operation` to the master (forward, cancel, check)."""
        return [self._ssh, "-S", str(self.control), "-O", operation, *args, self.machine.destination]

    def wrapped(self, command_id: str, argv: list[str]) -> list[str]:
        assert self.work_dir is not None
        return self.command(["/bin/sh", "-c", WRAPPER, "archsmoke-command", self.work_dir, command_id, *argv])

    def open(self) -> str:
        """Connect, start the holder; the work directory it made on the machine."""
        with open(self._master_log, "wb") as log:
            self._master = subprocess.Popen(
                [self._ssh, "-M", "-S", str(self.control), "-o", "ControlPersist=no", *self._options(), "-T",
                 self.machine.destination, "--", shlex.join(["/bin/sh", "-c", HOLDER])],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log,
                start_new_session=True,  # a terminal's Ctrl-C reaches the harness, which closes this itself
            )
        line = read_line(self._master.stdout, self.connect_timeout + 15).decode(errors="replace").strip()
        if not line.startswith("ready /"):
            self._master.kill()
            self._master.wait()
            self._master = None
            raise self._failure(line)
        self.work_dir = line.split(" ", 1)[1]
        return self.work_dir

    def _failure(self, said: str) -> Exception:
        log = self._master_log.read_text(errors="replace").strip() if self._master_log.exists() else ""
        where = self.machine.describe()
        if _CHANGED_KEY in log:
            return TargetError(
                f"{where}'s host key is not the one your known_hosts holds for it: refusing to connect (the machine "
                f"was reinstalled, or this is not that machine)",
                fix=f"if the machine's new key is genuine, remove the old one (`ssh-keygen -R {self.machine.host}"
                    f"{' -f ' + str(self.settings.known_hosts) if self.settings.known_hosts else ''}`) and add the new "
                    "one after checking its fingerprint")
        if _UNKNOWN_KEY in log:
            port = f"-p {self.machine.port} " if self.machine.port else ""
            return TargetError(
                f"{where}'s host key is not in {self.settings.known_hosts or 'your known_hosts'}: archsmoke does not "
                f"accept unknown host keys",
                fix=f"add it after checking its fingerprint (`ssh-keyscan {port}{self.machine.host} >> KNOWN_HOSTS`), "
                    "or pass --ssh-known-hosts FILE")
        detail = " / ".join(line for line in log.splitlines() if line)[-600:] or said or "no answer"
        return TargetError(f"cannot reach {where} over ssh: {detail}",
                           fix=f"check `{self.machine.ssh_command}` works from this machine "
                               "without a password (BatchMode), or fix --ssh-host")

    @property
    def alive(self) -> bool:
        return self._master is not None and self._master.poll() is None

    def close(self, timeout: float = 60) -> None:
        """Close the holder's stdin: it kills what still runs and removes the work directory; the master exits."""
        if self._master is None:
            return
        try:
            self._master.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self._master.kill()
            self._master.communicate()
        self._master = None
        self.work_dir = None
