"""The SSH tier: real machines of the target's arch over OpenSSH (a lab POWER9, an IBM s390x guest, a Pi 5)."""

from __future__ import annotations

from ...host.checks import Check
from ...host.tools import find_tool
from ..tier import Tier, TierOption
from .runner import SshRunner
from .settings import SshSettings


class SshTier(Tier):
    name = "ssh"
    runner = SshRunner
    options = (
        TierOption("--ssh-host", "ssh_hosts", metavar="ARCH=[USER@]HOST[:PORT]", repeatable=True,
                   help="ssh tier: the machine that runs ARCH's tests (repeatable, one per arch)"),
        TierOption("--ssh-hosts", "ssh_hosts_file", metavar="FILE",
                   help="ssh tier: a YAML file mapping arches to machines (`ppc64le: ci@power9.example.org:22`)"),
        TierOption("--ssh-key", "ssh_key", metavar="FILE",
                   help="ssh tier: the private key to log in with (default: your ssh config and agent)"),
        TierOption("--ssh-known-hosts", "ssh_known_hosts", metavar="FILE",
                   help="ssh tier: the known_hosts file the machines' keys are checked against (default: yours); "
                        "an unknown or changed key is refused"),
    )

    @classmethod
    def settings(cls, values) -> SshSettings:
        return SshSettings.parse(values.get("ssh_hosts"), values.get("ssh_hosts_file"), values.get("ssh_key"),
                                 values.get("ssh_known_hosts"))

    @classmethod
    def default_arches(cls, settings: SshSettings) -> list[str]:
        return list(settings.given)  # without --arch: the arches there are machines for

    @classmethod
    def check(cls, settings: SshSettings, catalog, targets) -> None:
        settings.resolve(catalog, targets)

    @classmethod
    def describe(cls, settings: SshSettings) -> str:
        return f"ssh (real machines, no emulator: {settings.describe()})"

    @classmethod
    def execution(cls, target) -> str:
        return "a real machine, no emulator"

    @classmethod
    def doctor_checks(cls, targets) -> list[Check]:
        """OpenSSH's client here; what each machine needs is checked when it connects (arch, libc, setsid,
        python3 for wheels)."""
        found = find_tool("ssh")
        return [Check("ssh (for --runner ssh)", found is not None, found or "not found",
                      None if found else "apt-get install openssh-client")]

    @classmethod
    def uses_rootfs(cls, settings, target) -> bool:
        return False

    @classmethod
    def page_size(cls, target) -> int:
        return target.page_size  # what the machine's kernel is expected to run with, checked when it connects

    @classmethod
    def cpu_model(cls, target, override) -> str | None:
        return "the machine's own CPU"


__all__ = ["SshRunner", "SshSettings", "SshTier"]
