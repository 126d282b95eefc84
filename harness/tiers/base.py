"""The interface every tier implements: start a target, run commands in it, copy files, stop it, and say what
it runs on (kernel, page size, CPU) and so what it proves.

Tests talk only to this interface (or to the testinfra Host built on it), so
the tiers slot in beside each other without any change to the tests.  Nothing
here assumes an emulator or this host's kernel: the tiers that run targets on
this host's kernel under qemu-user (qemu-user, container) share host_kernel.py.
"""

from __future__ import annotations

import abc
import os
import shlex
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Sequence

from ..cache import Cache
from ..errors import TargetError
from ..progress import Sink
from ..rootfs import RootFilesystem, resolve_in_root
from ..targets import Target
from .output import OutputArea
from .results import CommandResult

DEFAULT_ENV = {
    "PATH": "/usr/local/bin:/usr/local/sbin:/usr/bin:/usr/sbin:/bin:/sbin",
    "HOME": "/root",
    "LANG": "C.UTF-8",
    "TMPDIR": "/tmp",
    # Plain output: no colours, no progress bars, whatever the test machine's terminal.
    "TERM": "dumb",
    "NO_COLOR": "1",
}

# Every command's working directory on the disposable tiers: its own, never the target's / (a tool that cleans its
# working directory must not take the target's root with it).
WORK_DIR = "/tmp/archsmoke-work"


@dataclass
class RunnerOptions:
    cpu: str | None = None  # overrides the target's CPU floor; "" means QEMU's default
    sink: Sink | None = None
    work_root: Path | None = None  # where per-session state lives (default: the system temp dir)
    cache: Cache | None = None
    mirror: str | None = None  # the Debian mirror for what a tier fetches itself (the VM tier's kernels)
    settings: Any = None  # the tier's own settings (Tier.settings)


def _require_absolute(path: str) -> None:
    if not path.startswith("/"):
        raise TargetError(f"paths inside the target must be absolute, got {path!r}")


class Runner(abc.ABC):
    """A started target.  Use as a context manager, or call start() and stop()."""

    name: str = "?"
    # Where the target reaches the host's loopback: the same address when it shares the host's network.
    host_address: ClassVar[str] = "127.0.0.1"
    # Whether commands run on the target's own kernel (its page size, its syscalls), not the host's.
    boots_own_kernel: ClassVar[bool] = False

    def __init__(self, target: Target, rootfs: RootFilesystem | None, options: RunnerOptions | None = None):
        self.target = target
        self.rootfs = rootfs
        self.options = options or RunnerOptions()
        self.history: list[CommandResult] = []
        self.started = False
        self.output_area: OutputArea | None = None  # set by a tier at start, in its session directory

    def _spill(self) -> tuple[Path, Path] | None:
        """Where the next command's stdout and stderr go if they outgrow memory (output.py)."""
        return self.output_area.next() if self.output_area is not None else None

    @property
    def where(self) -> str:
        return f"{self.target.name} ({self.name} runner)"

    def environment(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        env = dict(DEFAULT_ENV)
        env.update(extra or {})
        return env

    @property
    def emulated(self) -> bool:
        """Whether qemu-user runs the target's programs (QEMU_CPU applies to them)."""
        return False

    @property
    def cpu(self) -> str | None:
        """The QEMU CPU model the binary under test runs at (None: the CPU its kernel runs on)."""
        return None

    @property
    def marks_binary_under_test(self) -> bool:
        """Whether the installed binary under test is marked to run through qemu-user at the CPU floor
        (host/binfmt.py): natively run targets on this host's kernel."""
        return False

    @property
    def has_python(self) -> bool:
        """Whether the root this runner started has python3 (the full functional suite needs it)."""
        return self.target.has_python

    @property
    def without_python(self) -> str:
        """Why tests that need Python skip here (has_python is False)."""
        sibling = self.target.name.removesuffix("-musl")
        return f"the {self.target.name} root has no Python; this check runs in the {sibling} root"

    @property
    def disposable(self) -> bool:
        """Whether what the tests change goes with the target (an overlay, a container, a VM's disk copy).  A real
        machine outlives the run: tests that change the system itself skip there."""
        return True

    def own_path(self, path: str) -> str:
        """Where archsmoke keeps what it would put at `path`: there, in a disposable target; under the run's work
        directory on a machine that outlives the run (removed when the run ends)."""
        return path

    @property
    def root_description(self) -> str:
        """Which root the commands run in, for the report."""
        return self.rootfs.describe() if self.rootfs else "?"

    @property
    def report_label(self) -> str:
        """How the report's column names this tier beside the target ("" for the default tier)."""
        return self.name

    @property
    @abc.abstractmethod
    def kernel_facts(self) -> dict[str, str]:
        """What the target's commands run on, for reports: kernel release, page size, the binary's CPU (and a VM's
        or a real machine's name)."""

    def host_url(self, url: str) -> str:
        """A URL of a server on the host's loopback (127.0.0.1 or localhost) as this target reaches it."""
        parts = urllib.parse.urlsplit(url)
        if parts.hostname not in ("127.0.0.1", "localhost"):
            return url
        port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
        host, reached_port = self.reach_host(port)
        if host == parts.hostname and reached_port == port:
            return url
        netloc = host + (f":{reached_port}" if reached_port else "")
        if parts.username:
            netloc = parts.netloc.rsplit("@", 1)[0] + "@" + netloc
        return urllib.parse.urlunsplit(parts._replace(netloc=netloc))

    def reach_host(self, port: int | None) -> tuple[str, int | None]:
        """Where this target reaches a port of the host's loopback: the same port at host_address."""
        return self.host_address, port

    def file_exists(self, path: str) -> bool:
        """Whether a path (symlinks followed) exists in the target's root."""
        if self.rootfs is not None:
            return resolve_in_root(self.rootfs.root, path).exists()
        return self.run(["/bin/sh", "-c", 'test -e "$0"', path]).exit_code == 0

    @abc.abstractmethod
    def start(self) -> None: ...

    @abc.abstractmethod
    def stop(self) -> None: ...

    @abc.abstractmethod
    def _execute(self, argv: list[str], env: dict[str, str], timeout: float, stdin: bytes | None) -> CommandResult: ...

    def put(self, source: Path, destination: str, mode: int | None = None) -> None:
        """Copy a host file into the target (missing parents are created; mode defaults to the source's)."""
        _require_absolute(destination)
        if not Path(source).is_file():
            raise TargetError(f"cannot copy {source} into {self.where}: it is not a file on this host")
        try:
            self._put(Path(source), destination, mode if mode is not None else os.stat(source).st_mode & 0o777)
        except OSError as exc:
            raise TargetError(f"copying {source} to {destination} in {self.where} failed: {exc.strerror or exc}") \
                from None

    def get(self, source: str, destination: Path) -> None:
        """Copy a file out of the target onto the host."""
        _require_absolute(source)
        try:
            self._get(source, Path(destination))
        except OSError as exc:
            raise TargetError(f"copying {source} out of {self.where} failed: {exc.strerror or exc}") from None

    @abc.abstractmethod
    def _put(self, source: Path, destination: str, mode: int) -> None: ...

    @abc.abstractmethod
    def _get(self, source: str, destination: Path) -> None: ...

    def run(
        self,
        command: str | Sequence[str],
        *,
        timeout: float | None = None,
        env: dict[str, str] | None = None,
        cwd: str | None = None,
        stdin: bytes | None = None,
    ) -> CommandResult:
        """Run a shell command line (str) or an argv (sequence) inside the target."""
        if not self.started:
            raise TargetError(f"{self.where} is not started")
        if isinstance(command, str):
            script = f"cd {shlex.quote(cwd)} && {command}" if cwd else command
            argv = ["/bin/sh", "-c", script]
            shown = command
        else:
            argv = list(command)
            shown = shlex.join(argv)
            if cwd:
                argv = ["/bin/sh", "-c", 'cd "$0" && exec "$@"', cwd, *argv]
        budget = timeout if timeout is not None else self.target.timeouts.command
        result = self._execute(argv, self.environment(env), budget, stdin)
        result.command = shown + (f"  (in {cwd})" if cwd else "")
        self.history.append(result)
        return result

    def transcript(self, limit: int = 200_000) -> str:
        """Every command run in this target with its full output (each stream cut at `limit` characters)."""
        parts = [f"# {self.where}: {len(self.history)} commands\n"]
        for number, result in enumerate(self.history, 1):
            status = "timed out" if result.timed_out else f"exit {result.exit_code}"
            parts.append(f"\n## {number}. {result.command}\n{status}, {result.duration:.2f} s\n")
            for name, text in (("stdout", result.stdout), ("stderr", result.stderr)):
                if text:
                    cut = f"[... {len(text) - limit} characters cut ...]\n" if len(text) > limit else ""
                    parts.append(f"--- {name} ---\n{cut}{text[-limit:]}\n")
        return "".join(parts)

    def __enter__(self) -> Runner:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
