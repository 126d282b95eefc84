"""The VM tier's lines of `doctor`: each target's qemu-system, machine type and firmware, mke2fs, and KVM."""

from __future__ import annotations

import os

from ...errors import HarnessError
from ...host.checks import Check, tool_check
from ...targets import Target
from . import machine
from .spec import vm_spec


def vm_checks(targets: list[Target]) -> list[Check]:
    checks = [tool_check("mke2fs", "e2fsprogs")]
    for target in targets:
        if vm_spec(target) is None:
            continue
        try:
            binary = machine.require_runnable(target)
            checks.append(Check(f"{target.name} VM", True, f"{binary} -M {vm_spec(target).machine} -cpu {vm_spec(target).cpu}"
                                + (f", firmware {', '.join(vm_spec(target).firmware)}" if vm_spec(target).firmware else "")))
        except HarnessError as error:
            checks.append(Check(f"{target.name} VM (for --runner vm)", False, error.problem, error.fix))
    kvm = os.access("/dev/kvm", os.R_OK | os.W_OK)
    checks.append(Check("KVM", True, "/dev/kvm usable: VMs of this host's own arch use it" if kvm else
                        "no usable /dev/kvm: VMs of this host's arch would be emulated too (every other arch is, "
                        "always)"))
    return checks
