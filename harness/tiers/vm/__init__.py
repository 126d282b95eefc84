"""The full-system tier: qemu-system boots each target's own kernel (real page sizes, real syscalls)."""

from ...errors import HarnessError
from ..tier import Tier
from . import machine
from .checks import vm_checks
from .spec import SECTION, vm_spec
from .runner import VmRunner


class VmTier(Tier):
    name = "vm"
    runner = VmRunner
    section = SECTION

    @classmethod
    def describe(cls, settings) -> str:
        return "vm (qemu-system booting each target's own Debian kernel, with its own page size)"

    @classmethod
    def emulator_version(cls, target) -> str | None:
        return machine.qemu_version(target) if vm_spec(target) is not None else None

    @classmethod
    def execution(cls, target) -> str:
        if vm_spec(target) is not None and machine.kvm_usable(target):
            return f"its own kernel under {vm_spec(target).qemu} with KVM, no CPU emulation"
        return f"its own kernel under {vm_spec(target).qemu if vm_spec(target) else 'qemu-system'} (TCG)"

    @classmethod
    def page_size(cls, target) -> int:
        return target.page_size  # the booted kernel's, checked against the YAML at every start

    @classmethod
    def cpu_model(cls, target, override) -> str | None:
        if vm_spec(target) is None:
            return None
        return "host" if machine.kvm_usable(target) else vm_spec(target).cpu

    @classmethod
    def doctor_checks(cls, targets) -> list:
        return vm_checks(targets)

    @classmethod
    def defines(cls, target) -> bool:
        return vm_spec(target) is not None

    @classmethod
    def unavailable(cls, target) -> str | None:
        if vm_spec(target) is None:
            return f"{target.source.name} has no vm section"
        try:
            machine.require_runnable(target)
        except HarnessError as error:
            return error.problem
        return None


__all__ = ["VmRunner", "VmTier"]
