"""The container engine (podman or docker) and the flags this host needs to run containers with it.

Rootful podman on hosts like archsmoke's CI machines (no systemd, cgroups v1 or
hybrid, hard rlimits below podman's defaults) fails to start any container with
its defaults.  ``detect`` measures the host once and chooses the flags; the
reasons are kept so ``python -m archsmoke doctor`` can explain each choice.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ConfigError, HostSetupError
from ..targets import Target

ENGINES = ("podman", "docker")

# What rootful podman asks for when not told otherwise (containers.conf defaults, podman 4).
PODMAN_DEFAULT_LIMITS = {"nofile": 1_048_576, "nproc": 4_194_304}
_RLIMITS = {"nofile": resource.RLIMIT_NOFILE, "nproc": resource.RLIMIT_NPROC}
CGROUP_ROOT = Path("/sys/fs/cgroup")


@dataclass(frozen=True)
class Choice:
    """One adaptation to this host, with the measurement that called for it."""

    flags: tuple[str, ...]
    reason: str


@dataclass(frozen=True)
class Engine:
    name: str
    path: str
    version: str
    global_flags: tuple[str, ...] = ()  # before the subcommand: podman --runtime ... run
    run_flags: tuple[str, ...] = ()  # after `run`
    choices: tuple[Choice, ...] = field(default=())

    def command(self, *args: str) -> list[str]:
        return [self.path, *self.global_flags, *args]

    def run(self, *args: str, timeout: float = 120, input: bytes | None = None,
            check: bool = True) -> subprocess.CompletedProcess:
        try:
            result = subprocess.run(self.command(*args), input=input, capture_output=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise HostSetupError(f"`{self.name} {' '.join(args[:2])}` did not answer within {timeout:.0f} s",
                                 fix=f"check the {self.name} service (`{self.name} info`)") from None
        if check and result.returncode != 0:
            raise HostSetupError(f"`{self.name} {' '.join(args)}` failed: {_text(result.stderr)}",
                                 fix="run `python -m archsmoke doctor`")
        return result


    def platform_flags(self, target: Target) -> list[str]:
        """How `import` and `pull` are told the platform: podman takes --arch/--variant, docker --platform."""
        if self.name == "docker":
            return ["--platform", target.platform_name]
        arch, variant = target.oci_platform
        return ["--arch", arch] + (["--variant", variant] if variant else [])

    def remove(self, *names: str) -> None:
        """Remove containers at once (SIGKILL); names already gone are not an error."""
        if not names:
            return
        flags = ("--force", "--time", "0", "--ignore") if self.name == "podman" else ("--force",)
        self.run("rm", *flags, *names, check=False)

    def labelled(self, label: str) -> dict[str, str]:
        """Container name -> value of `label`, for every container (running or not) that has it."""
        if self.name == "podman":  # podman's templates have no .Label; its JSON has a Labels map
            result = self.run("ps", "--all", "--filter", f"label={label}", "--format", "json", check=False)
            entries = json.loads(result.stdout or b"[]") if result.returncode == 0 else []
            return {(e.get("Names") or ["?"])[0]: (e.get("Labels") or {}).get(label, "") for e in entries}
        result = self.run("ps", "--all", "--filter", f"label={label}",
                          "--format", f'{{{{.Names}}}}\t{{{{.Label "{label}"}}}}', check=False)
        rows = result.stdout.decode(errors="replace").splitlines() if result.returncode == 0 else []
        return dict(row.split("\t", 1) for row in rows if "\t" in row)


def _text(data: bytes) -> str:
    lines = data.decode(errors="replace").strip().splitlines()
    return " / ".join(line for line in lines if not line.startswith("WARNING"))[-600:] or "(no message)"


def cgroup_mode() -> str:
    """'unified' (cgroup v2 only), 'hybrid' (v1 controllers plus a v2 tree) or 'legacy' (v1 only)."""
    if (CGROUP_ROOT / "cgroup.controllers").exists():
        return "unified"
    return "hybrid" if (CGROUP_ROOT / "unified").is_dir() else "legacy"


def systemd_running() -> bool:
    return Path("/run/systemd/system").is_dir()


def hard_limit(name: str) -> int | None:
    """The host's hard limit; for nproc also the kernel's pid_max, which caps what a container gets."""
    hard = resource.getrlimit(_RLIMITS[name])[1]
    limit = None if hard == resource.RLIM_INFINITY else hard
    if name == "nproc":
        try:
            pid_max = int(Path("/proc/sys/kernel/pid_max").read_text())
        except (OSError, ValueError):
            pid_max = None
        if pid_max is not None:
            limit = pid_max if limit is None else min(limit, pid_max)
    return limit


def podman_choices() -> list[Choice]:
    choices = []
    mode = cgroup_mode()
    if not systemd_running():
        choices.append(Choice(("--cgroup-manager=cgroupfs",),
                              "systemd is not running here, so podman cannot use it as cgroup manager"))
    if mode != "unified" and shutil.which("runc"):
        choices.append(Choice(("--runtime", "runc"),
                              f"cgroups are in {mode} mode, where crun fails and runc works"))
    return choices


def ulimit_choices() -> list[Choice]:
    choices = []
    for name, default in PODMAN_DEFAULT_LIMITS.items():
        limit = hard_limit(name)
        if limit is not None and limit < default:
            what = f"the host's hard {name} limit is {limit}"
            if name == "nproc" and limit < resource.getrlimit(_RLIMITS[name])[1]:
                what = f"pid_max ({limit}) caps the process limit a container can be given"
            choices.append(Choice(("--ulimit", f"{name}={limit}:{limit}"),
                                  f"{what}, below the engine's default {default}: the container would fail "
                                  f"to start (raising a hard limit needs CAP_SYS_RESOURCE)"))
    return choices


def _answers(path: str, name: str) -> tuple[str | None, str]:
    """(server version, or None with why) — docker's client installs without any engine behind it."""
    template = "{{.Version}}" if name == "podman" else "{{.Server.Version}}"
    try:
        result = subprocess.run([path, "version", "--format", template], capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as error:
        return None, str(error)
    version = result.stdout.decode(errors="replace").strip()
    if result.returncode != 0 or not version:
        return None, _text(result.stderr)
    return version, ""


def require_known(name: str) -> None:
    if name not in ENGINES:
        raise ConfigError(f"unknown container engine {name!r}", fix=f"--engine {' or --engine '.join(ENGINES)}")


def fix_for(problems: dict[str, str]) -> str:
    fixes = []
    remote = os.environ.get("DOCKER_HOST")
    if "docker" in problems and "no engine answers" in problems["docker"] and remote:
        fixes.append(f"check that the daemon DOCKER_HOST={remote} names answers (`docker version`), or unset "
                     "DOCKER_HOST to use this host's own daemon")
    elif "docker" in problems and "no engine answers" in problems["docker"]:
        fixes.append("start the docker daemon (`sudo systemctl start docker`, or `sudo dockerd &` where systemd "
                     "does not run; ./bootstrap starts one)")
    if "podman" in problems:
        fixes.append("apt-get install podman runc")
    return ", or ".join(fixes or ["apt-get install podman runc"]) + ", or use --runner qemu-user"


def _measure(name: str) -> Engine | str:
    """The engine `name` with the flags this host needs, or why it cannot be used."""
    path = shutil.which(name)
    if path is None:
        return "not installed"
    version, why = _answers(path, name)
    if version is None:
        return f"{path} is installed but no engine answers ({why})"
    # docker containers inherit dockerd's own limits, so only podman (which raises them) needs --ulimit.
    choices = [*podman_choices(), *ulimit_choices()] if name == "podman" else []
    global_flags = tuple(f for c in choices if not c.flags[0].startswith("--ulimit") for f in c.flags)
    run_flags = tuple(f for c in choices if c.flags[0].startswith("--ulimit") for f in c.flags)
    return Engine(name, path, version, global_flags, run_flags, tuple(choices))


def survey() -> dict[str, Engine | str]:
    """Every engine archsmoke knows: the usable ones, and why each other one is not."""
    return {name: _measure(name) for name in ENGINES}


def detect(preferred: str | None = None) -> Engine:
    """The engine to use: `preferred` if given, else podman, else docker; it must answer, not just exist."""
    if preferred is not None:
        require_known(preferred)
    problems: dict[str, str] = {}
    for name in (preferred,) if preferred else ENGINES:
        found = _measure(name)
        if isinstance(found, Engine):
            return found
        problems[name] = found
    raise HostSetupError("no usable container engine: " + "; ".join(f"{n}: {why}" for n, why in problems.items()),
                         fix=fix_for(problems))
