"""The full-system tier: qemu-system boots each target's own kernel (real page sizes, real syscalls)."""

import subprocess

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
        return _version(target) if target.vm is not None else None


__all__ = ["VmRunner", "VmTier"]


def _version(target) -> str | None:
    try:
        out = subprocess.run([machine.qemu_binary(target), "--version"], capture_output=True, text=True,
                             timeout=30).stdout
    except Exception:  # reports only: a missing binary fails the start with its own message
        return None
    return out.splitlines()[0] if out else None
