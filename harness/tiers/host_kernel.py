"""What the tiers that run targets on this host's kernel share (qemu-user, container): binfmt_misc's qemu-user
runs foreign programs, QEMU_CPU sets the CPU floor for them, a natively run target's binary under test is marked
for the floor's own binfmt handler, and the page size and kernel are this host's."""

from __future__ import annotations

import functools
import os

from .. import cpu_floor
from ..errors import HarnessError
from ..host import binfmt
from ..host.checks import Check
from ..host.tools import find_tool
from ..targets import Target
from .base import Runner
from .tier import Tier


def host_page_size() -> int:
    return os.sysconf("SC_PAGE_SIZE")


class HostKernelTier(Tier):
    @classmethod
    def execution(cls, target: Target) -> str:
        if not target.runs_natively:
            return f"emulated by qemu-{target.qemu_arch}"
        if target.qemu_arch and binfmt.floor_unavailable(target) is None:
            return (f"natively, no emulator; the binary under test alone through qemu-{target.qemu_arch} "
                    "at its CPU floor")
        return "natively, no emulator"

    @classmethod
    def emulator_version(cls, target: Target) -> str | None:
        return binfmt.qemu_version(target)

    @classmethod
    def page_size(cls, target: Target) -> int:
        return host_page_size()

    @classmethod
    def describe_pages(cls, target: Target) -> str:
        return f"this host's {host_page_size() // 1024} KiB pages"

    @classmethod
    def cpu_model(cls, target: Target, override: str | None) -> str | None:
        return cpu_floor.floor_model(target, override)

    @classmethod
    def doctor_checks(cls, targets: list[Target]) -> list[Check]:
        """Each foreign target's qemu-user and its binfmt handler; a native one's CPU-floor handler."""
        checks = []
        for target in targets:
            if target.runs_natively:
                checks.append(Check(f"{target.name}", True, "runs natively on this host, no emulator needed"))
                if target.qemu_arch and target.cpu:
                    why = binfmt.floor_unavailable(target)  # registers the handler when run as root
                    checks.append(Check(f"{target.name} CPU floor {target.cpu}", why is None,
                                        f"binfmt handler {binfmt.floor_handler_name(target)} runs the marked binary "
                                        f"under test through qemu-{target.qemu_arch}" if why is None else why,
                                        None if why is None else "run ./bootstrap (or python -m archsmoke doctor) as root"))
                continue
            emulator = f"qemu-{target.qemu_arch}-static"
            found = find_tool(emulator)
            checks.append(Check(emulator, found is not None, found or "not found",
                                None if found else binfmt.install_fix(target.qemu_arch)))
            try:
                handler = binfmt.require_handler(target)
                checks.append(Check(f"binfmt handler qemu-{target.qemu_arch}", True,
                                    f"{handler.interpreter}, flags {handler.flags}"))
            except HarnessError as error:
                checks.append(Check(f"binfmt handler qemu-{target.qemu_arch}", False, error.problem, error.fix))
        return checks

    @classmethod
    def floor_unavailable(cls, target: Target) -> str | None:
        # An emulated target's programs all run under qemu-user; a native one's binary needs the floor handler.
        return binfmt.floor_unavailable(target) if target.runs_natively else None


class HostKernelRunner(Runner):
    def environment(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        if self.cpu and (self.emulated or self.marks_binary_under_test):
            extra = {"QEMU_CPU": self.cpu, **(extra or {})}  # the caller's QEMU_CPU (max) still wins
        return super().environment(extra)

    @property
    def emulated(self) -> bool:
        return not self.target.runs_natively

    @property
    def cpu(self) -> str | None:
        return cpu_floor.floor_model(self.target, self.options.cpu)

    @functools.cached_property
    def marks_binary_under_test(self) -> bool:
        """A natively run target with a CPU floor: the installed binary under test is marked, so that qemu-user
        runs it at the floor.  False where the handler cannot be had (the run header says so)."""
        return self.target.runs_natively and self.cpu is not None and binfmt.floor_unavailable(self.target) is None

    @property
    def kernel_facts(self) -> dict[str, str]:
        cpu = self.cpu if (self.emulated or self.marks_binary_under_test) else None
        return {"kernel_release": f"{os.uname().release} (this host's kernel)", "page_size": str(host_page_size()),
                "cpu": cpu or "this host's CPU"}
