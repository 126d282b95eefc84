"""The VM tier's part of a target's YAML (`vm:`): how qemu-system boots the target's own kernel."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ...targets import Target
from ...targets.fields import Fields
from ...targets.sections import Section

_MACHINE = re.compile(r"^[a-z0-9][a-z0-9._-]*(,[a-z0-9._-]+(=[A-Za-z0-9._-]+)?)*$")
_CONSOLE = re.compile(r"^[a-zA-Z][a-zA-Z0-9]*$")
_MODULE = re.compile(r"^[a-z0-9_-]+$")


@dataclass(frozen=True)
class KernelSource:
    """The Debian package a full-system VM boots, and the suite it comes from."""

    suite: str
    package: str
    apt_options: tuple[str, ...] = ()


@dataclass(frozen=True)
class VmSpec:
    """How the full-system tier boots this target (the YAML's ``vm`` section)."""

    qemu: str  # the qemu-system binary, e.g. qemu-system-ppc64
    machine: str  # -M, with its options: pseries,x-vof=on
    cpu: str  # -cpu: the oldest CPU the binary must run on that the kernel accepts
    console: str  # the kernel's name for the serial console: hvc0, ttysclp0, ttyAMA0
    kernel: KernelSource
    modules: tuple[str, ...]  # what the initramfs loads (with their dependencies) to mount the disk and share
    firmware: tuple[str, ...] = ()  # files QEMU loads from its data directory, checked before booting
    memory: int = 1024  # MiB
    cpus: int = 2  # -smp: QEMU translates each vCPU on its own host thread (MTTCG), as qemu-user runs threads

    @property
    def machine_type(self) -> str:
        return self.machine.split(",", 1)[0]


def parse_vm(vm: Fields) -> VmSpec:
    qemu = vm.get("qemu", str)
    if not re.match(r"^qemu-system-[a-z0-9_]+$", qemu):
        raise vm.error("field 'vm.qemu'", f"must name a qemu-system binary (qemu-system-ARCH), got {qemu!r}")
    machine = vm.get("machine", str)
    if not _MACHINE.match(machine):
        raise vm.error("field 'vm.machine'", f"must be a QEMU machine type with options (pseries,x-vof=on), got {machine!r}")
    console = vm.get("console", str)
    if not _CONSOLE.match(console):
        raise vm.error("field 'vm.console'", f"must be a kernel console device name (hvc0, ttyAMA0), got {console!r}")
    kernel = vm.section("kernel")
    source = KernelSource(suite=kernel.get("suite", str), package=kernel.get("package", str),
                          apt_options=kernel.string_list("apt_options", []))
    kernel.reject_unknown()
    modules = vm.string_list("modules")
    bad = [m for m in modules if not _MODULE.match(m)]
    if bad:
        raise vm.error("field 'vm.modules'", f"must list kernel module names (virtio_blk), got {bad[0]!r}")
    memory = vm.get("memory", int, 1024)
    if memory < 128:
        raise vm.error("field 'vm.memory'", f"must be at least 128 (MiB), got {memory}")
    cpus = vm.get("cpus", int, 2)
    if not 1 <= cpus <= 8:
        raise vm.error("field 'vm.cpus'", f"must be 1 to 8, got {cpus}")
    spec = VmSpec(qemu=qemu, machine=machine, cpu=vm.get("cpu", str), console=console, kernel=source,
                  modules=modules, firmware=vm.string_list("firmware", []), memory=memory, cpus=cpus)
    vm.reject_unknown()
    return spec


SECTION = Section("vm", parse_vm)


def vm_spec(target: Target) -> VmSpec | None:
    """The target's `vm` section (None: the VM tier does not run it)."""
    return target.section(SECTION.key)
