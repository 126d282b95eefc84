"""The full-system tier: qemu-system boots each target's own kernel (real page sizes, real syscalls)."""

from ..base import Tier
from . import machine
from .runner import VmRunner


class VmTier(Tier):
    name = "vm"
    runner = VmRunner

    @classmethod
    def describe(cls, settings) -> str:
        return "vm (qemu-system booting each target's own Debian kernel, with its own page size)"

    @classmethod
    def emulator_version(cls, target) -> str | None:
        return machine.qemu_version(target) if target.vm is not None else None


__all__ = ["VmRunner", "VmTier"]

