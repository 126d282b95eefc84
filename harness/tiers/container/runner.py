"""The container tier: one long-lived podman (or docker) container per target, commands run with exec.

The container's first process is a shell reading its stdin, which is a pipe
from this process, and the container is started with --rm.  When stop() closes
the pipe, or this process dies however it dies, the shell's read returns, the
container exits and the engine removes it: nothing outlives the harness.
Foreign-arch containers run through the same binfmt_misc handlers as the
qemu-user tier (the F flag makes the emulator usable inside the container).
"""

from __future__ import annotations

import io
import os
import subprocess
import tarfile
import uuid
from pathlib import Path

from ...errors import TargetError
from ...host import binfmt
from ...host import engine as engines
from ...host.tools import host_tool
from ...progress import Progress
from ..base import WORK_DIR
from ..host_kernel import HostKernelRunner
from ..output import OutputArea
from ..results import CommandResult, finished_result, signal_exit_code
from ..process import new_session_dir, owner_gone, owner_token, read_line, remove_session_dir, run_with_deadline
from . import images
from .settings import ContainerSettings
from .spec import pinned_image

NAME_PREFIX = "archsmoke-"
OWNER_LABEL = "io.archsmoke.owner"
SESSION_PREFIX = "archsmoke-container-"  # this host's directory of a started container (its large outputs)
# docker's defaults (podman's leave both out): MKNOD let root in the container make /dev/console, which docker's
# device rules let it open, and write on the host's console; NET_RAW on the host's network would see its traffic.
CAP_DROP = ("--cap-drop=MKNOD", "--cap-drop=NET_RAW")
_HOLDER = f'mkdir -p {WORK_DIR} && chmod 1777 {WORK_DIR} && echo ready; read _ || true'
# docker runs exec'd commands from its daemon, so no personality set on the client reaches them: each one
# is started through this, in the container (PER_LINUX32 = 0x0008), and inherits it like any child.
_LINUX32 = """import ctypes, os, sys
ctypes.CDLL(None).personality(8)
try:
    os.execvp(sys.argv[1], sys.argv[1:])
except OSError as error:  # as the engine itself would: 127 not found, 126 not executable
    sys.stderr.write(f"{sys.argv[1]}: {error.strerror}\\n")
    sys.exit(127 if error.errno == 2 else 126)
"""


class ContainerRunner(HostKernelRunner):
    name = "container"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.options.settings is None:
            self.options.settings = ContainerSettings()
        self.engine: engines.Engine | None = None
        self.image: images.Image | None = None
        self.container = f"{NAME_PREFIX}{self.target.name}-{uuid.uuid4().hex[:12]}"
        self._holder: subprocess.Popen | None = None
        self._personality: list[str] = []  # before the engine client (podman)
        self._in_container: list[str] = []  # before the command, inside the container (docker)
        self._session: Path | None = None

    @property
    def where(self) -> str:
        engine = self.engine.name if self.engine else "container"
        return f"{self.target.name} ({engine} container {self.container})"

    @property
    def has_python(self) -> bool:
        return self.image.has_python if self.image else self.target.has_python

    @property
    def root_description(self) -> str:
        return self.image.origin if self.image else "?"

    @property
    def report_label(self) -> str:
        return "container, pinned image" if self.options.settings.image_source == "pinned" and \
            pinned_image(self.target) is not None else "container"

    @property
    def testinfra_url(self) -> str | None:
        """pytest-testinfra's own backend for this container (podman:// or docker://); None where commands
        must go through this runner (a 32-bit personality testinfra's backends would not set)."""
        assert self.engine is not None
        return None if self.target.needs_32bit_personality else f"{self.engine.name}://{self.container}"

    def start(self) -> None:
        self.engine = engines.detect(self.options.settings.engine)
        # i386 runs natively on x86_64; `uname -m` must still say i686.  runc before 1.2 ignores
        # --personality, but podman's exec sessions inherit it from the client through conmon.
        if self.target.needs_32bit_personality and self.engine.name == "podman":
            self._personality = [host_tool("setarch", "util-linux"), "linux32"]
        if self.emulated:
            binfmt.require_handler(self.target)
        progress = Progress(f"start {self.target.name}", self.options.sink)
        remove_orphans(self.engine)
        self.image = self._image()
        if self.target.needs_32bit_personality and self.engine.name != "podman":
            if not self.image.has_python:
                raise TargetError(
                    f"{self.where}: {self.engine.name} cannot give this container a 32-bit personality (it has no "
                    f"option for it, and runc before 1.2 ignores the OCI field), and {self.image.ref} has no "
                    f"python3 to set it itself: `uname -m` would say x86_64 where real {self.target.name} "
                    f"machines say i686", fix="use --engine podman, or --runner qemu-user")
            self._in_container = ["python3", "-c", _LINUX32]
        env = [f"--env={k}={v}" for k, v in self.environment().items()]
        self._holder = subprocess.Popen(
            [*self._personality, *self.engine.command(
                "run", "--interactive", "--rm", "--name", self.container, "--label", f"{OWNER_LABEL}={owner_token(':')}",
                "--network", "host", *CAP_DROP, "--platform", self.target.platform_name,
                *self.engine.run_flags, *env, "--entrypoint", "/bin/sh", self.image.ref, "-c", _HOLDER)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            # Its own session: a terminal's Ctrl-C (SIGINT to the whole group) must not reach the engine
            # client, which would then wait out its stop timeout; the harness stops it by closing the pipe.
            start_new_session=True,
        )
        line = read_line(self._holder.stdout, self.target.timeouts.start)
        if line.strip() != b"ready":
            self._abandon()
            why = self._holder_error()
            self._check_machine(self._machine_without_cpu_floor())  # a mislabelled image fails like this too
            raise TargetError(f"{self.where} failed to start: {why}", fix="run `python -m archsmoke doctor`")
        self.started = True
        self._session = new_session_dir(SESSION_PREFIX, self.options.work_root)
        self.output_area = OutputArea(self._session)
        result = self.run(["uname", "-m"])
        if not result.ok:
            self.stop()
            raise TargetError(f"`uname -m` failed in {self.where}: {result.stderr.strip()}")
        self._check_machine(result.stdout.strip())
        progress.say(f"{self.engine.name} container {self.container} on {self.image.ref} ready")

    def _image(self) -> images.Image:
        if self.options.settings.image_source == "pinned" and pinned_image(self.target) is not None:
            return images.pinned(self.engine, self.target, self.options.sink)
        if self.rootfs is None or self.options.cache is None:
            raise TargetError(f"{self.where}: no root filesystem to import as an image")
        return images.from_rootfs(self.engine, self.rootfs, self.options.cache, self.options.sink)

    def _check_machine(self, found: str | None) -> None:
        """The image's contents, not just its label, must be the target's machine."""
        expected = self.target.arch.uname
        if found is not None and found != expected:
            self.stop()
            raise TargetError(f"{self.image.ref} runs as {found} in a container for {self.target.name}, "
                              f"which must run as {expected}",
                              fix=f"use an image built for {self.target.platform_name}")

    def _machine_without_cpu_floor(self) -> str | None:
        """What the image runs as under the emulator's default CPU (another arch's emulator rejects ours)."""
        result = self.engine.run("run", "--rm", "--network", "none", *self.engine.run_flags,
                                 "--entrypoint", "uname", self.image.ref, "-m", check=False, timeout=60)
        return result.stdout.decode(errors="replace").strip() or None if result.returncode == 0 else None

    def _holder_error(self) -> str:
        assert self._holder is not None
        try:
            _, err = self._holder.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            return f"no answer within {self.target.timeouts.start:.0f} s"
        lines = [x for x in err.decode(errors="replace").strip().splitlines() if not x.startswith("WARNING")]
        return " / ".join(lines)[-800:] or f"the container exited with {self._holder.returncode}"

    def _execute(self, argv, env, timeout, stdin) -> CommandResult:
        assert self.engine is not None
        flags = ["--interactive"] if stdin is not None else []
        command = [*self._personality, *self.engine.command("exec", *flags, "--workdir", WORK_DIR, *(f"--env={k}={v}" for k, v in env.items()),
                                      self.container, *self._in_container, *argv)]
        finished = run_with_deadline(command, dict(os.environ), timeout, stdin, self._spill())
        if finished.timed_out:
            # Killing the exec client leaves the command running in the container: kill everything
            # there but the holder (kill -1 spares the caller and the container's init).
            run_with_deadline(self.engine.command("exec", self.container, "/bin/sh", "-c", "kill -9 -1"),
                              dict(os.environ), 30, None)
        # The engine says 128+N for a command killed by signal N; every tier reports it as -N.
        return finished_result(finished, self.where, timeout, signal_exit_code(finished.exit_code))

    def _put(self, source: Path, destination: str, mode: int) -> None:
        self._copy("cp", "-", f"{self.container}:/", stdin=tar_stream(source, destination, mode))

    def _get(self, source: str, destination: Path) -> None:
        stream = self._copy("cp", f"{self.container}:{source}", "-")
        with tarfile.open(fileobj=io.BytesIO(stream)) as archive:
            member = next((m for m in archive.getmembers() if m.isfile()), None)
            if member is None:
                raise TargetError(f"{source} in {self.where} is not a regular file")
            destination.write_bytes(archive.extractfile(member).read())

    def _copy(self, *args: str, stdin: bytes | None = None) -> bytes:
        assert self.engine is not None
        result = self.engine.run(*args, input=stdin, timeout=self.target.timeouts.install, check=False)
        if result.returncode != 0:
            raise TargetError(f"{self.engine.name} {' '.join(args)} failed in {self.where}: "
                              f"{result.stderr.decode(errors='replace').strip()}")
        return result.stdout

    def stop(self) -> None:
        if self._holder is not None:
            try:
                self._holder.communicate(timeout=10)  # closes the pipe: the holder's read returns
            except subprocess.TimeoutExpired:
                self._abandon()
            self._holder = None
        if self.engine is not None:
            # --rm removes the container as it exits; this catches an engine that did not.
            self.engine.remove(self.container)
        if self._session is not None:
            remove_session_dir(self._session)
            self._session = None
            self.output_area = None
        self.started = False

    def _abandon(self) -> None:
        assert self._holder is not None and self.engine is not None
        self.engine.remove(self.container)
        self._holder.kill()


def tar_stream(source: Path, destination: str, mode: int | None) -> bytes:
    """One file as a tar stream: it sets name, mode and owner exactly and creates missing parents.

    The stream ends at the end-of-archive blocks, without tarfile's record padding: podman 4.3's
    copier stops reading at those blocks, and when the padding is still unwritten the copy fails
    with "io: read/write on closed pipe" (measured: 11 of 43 random sizes, every time for
    uv 0.13.9's riscv64 wheel), although the file arrived whole.
    """
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive, open(source, "rb") as data:
        info = archive.gettarinfo(str(source), arcname=destination.lstrip("/"))
        info.mode = mode if mode is not None else os.stat(source).st_mode & 0o777
        info.uid = info.gid = 0
        info.uname = info.gname = "root"
        archive.addfile(info, data)
        end_of_members = archive.offset
    return buffer.getvalue()[:end_of_members] + bytes(2 * tarfile.BLOCKSIZE)


def remove_orphans(engine: engines.Engine) -> list[str]:
    """Containers of archsmoke runs that are gone (SIGKILLed before the engine could clean up)."""
    orphans = []
    for name, owner in engine.labelled(OWNER_LABEL).items():
        if owner_gone(owner, ":"):
            orphans.append(name)
    engine.remove(*orphans)
    return orphans
