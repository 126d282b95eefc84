"""What a machine reached over SSH really is, read from it, and checked against the target it stands for."""

from __future__ import annotations

from dataclasses import dataclass

from ...errors import TargetError

# One round trip.  The CPU's line differs by arch: `model name` (x86, riscv64 has `isa`/`uarch`), `cpu`
# (POWER), `Processor`/`CPU part` (Arm), `machine` (s390x's `processor 0: version = ..., machine = 8561`).
FACTS_SCRIPT = r"""echo "machine=$(uname -m)"
echo "kernel=$(uname -r)"
echo "hostname=$(uname -n)"
p=$(getconf PAGESIZE 2>/dev/null) || p=$(awk '/KernelPageSize/ {print $2 * 1024; exit}' /proc/self/smaps 2>/dev/null)
echo "page_size=$p"
if ls /lib/ld-musl-* >/dev/null 2>&1; then echo "libc=musl"
elif v=$(getconf GNU_LIBC_VERSION 2>/dev/null); then echo "libc=glibc ${v#glibc }"
else echo "libc=unknown"; fi
c=$(grep -m1 -E '^(model name|cpu|uarch|Processor)[[:space:]]*:' /proc/cpuinfo 2>/dev/null | cut -d: -f2-)
[ -n "$c" ] || c=$(grep -m1 -E '^processor 0:' /proc/cpuinfo 2>/dev/null | sed 's/.*machine = *//')
echo "cpu=$(echo $c)"
if command -v python3 >/dev/null 2>&1; then
  v=$(python3 -c 'import sys, venv, ensurepip; print(sys.version.split()[0])' 2>/dev/null) || v=without-venv
  echo "python=$v"
  python3 -m pip --version >/dev/null 2>&1 && echo "pip=yes"
fi
command -v setsid >/dev/null 2>&1 && echo "setsid=yes"
exit 0
"""


@dataclass(frozen=True)
class MachineFacts:
    machine: str  # uname -m
    kernel: str
    hostname: str
    page_size: int
    libc: str  # glibc 2.36, musl, unknown
    cpu: str
    python: str | None  # its version, "without-venv", or None
    pip: bool
    setsid: bool

    @classmethod
    def parse(cls, text: str) -> MachineFacts:
        found = dict(line.split("=", 1) for line in text.splitlines() if "=" in line)
        page = found.get("page_size", "")
        return cls(machine=found.get("machine", "?"), kernel=found.get("kernel", "?"),
                   hostname=found.get("hostname", "?"), page_size=int(page) if page.isdigit() else 0,
                   libc=found.get("libc", "unknown"), cpu=found.get("cpu") or "unknown",
                   python=found.get("python") or None, pip="pip" in found, setsid="setsid" in found)

    @property
    def has_python(self) -> bool:
        """python3 with venv and pip: what installing a wheel the way users do needs."""
        return self.python not in (None, "without-venv") and self.pip

    @property
    def without_python(self) -> str:
        if self.python is None:
            return "it has no python3"
        if self.python == "without-venv":
            return "its python3 has no venv module (Debian: python3-venv)"
        return "its python3 has no pip (Debian: python3-pip)"


def check(facts: MachineFacts, target, where: str) -> None:
    """A machine must be of the target's arch and libc: tests that pass elsewhere prove nothing for the target."""
    expected = target.arch.uname
    if facts.machine != expected:
        raise TargetError(f"{where} is a {facts.machine} machine (`uname -m`), not {target.name} ({expected})",
                          fix=f"give --ssh-host {target.name}= a {target.name} machine, or name this one under its "
                              "own arch")
    libc = facts.libc.split()[0]
    if libc != target.libc:
        raise TargetError(f"{where} runs {facts.libc}, but {target.name} is a {target.libc} target",
                          fix=f"give a {target.libc} {target.name} machine, or test it as the {libc} target "
                              "(--libc)")
    if not facts.setsid:
        raise TargetError(f"{where} has no setsid, which archsmoke needs to stop a command with all it started",
                          fix="install util-linux (or busybox's setsid) on the machine")
    if facts.page_size <= 0:
        raise TargetError(f"{where}: neither `getconf PAGESIZE` nor /proc/self/smaps told its page size",
                          fix="check that the machine has getconf or a mounted /proc")
