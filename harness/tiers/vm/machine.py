"""The qemu-system command line for a VM target, and the checks that it can run on this host."""

from __future__ import annotations

import os
import shutil
import subprocess
from functools import lru_cache
from pathlib import Path

from ...errors import ConfigError, HostSetupError
from ...host.binfmt import cpu_models_of
from ...targets import Target
from . import guest
from .spec import vm_spec

# Debian's packages for each qemu-system binary (doctor and the errors name them).
QEMU_PACKAGES = {
    "qemu-system-ppc64": "qemu-system-ppc",
    "qemu-system-s390x": "qemu-system-misc",
    "qemu-system-riscv64": "qemu-system-misc",
    "qemu-system-aarch64": "qemu-system-arm",
    "qemu-system-arm": "qemu-system-arm",
    "qemu-system-x86_64": "qemu-system-x86",
    "qemu-system-i386": "qemu-system-x86",
}
FIRMWARE_DIRS = (Path("/usr/share/qemu"), Path("/usr/share/qemu-efi-aarch64"), Path("/usr/lib/ipxe/qemu"))


def qemu_binary(target: Target) -> str:
    assert vm_spec(target) is not None
    found = shutil.which(vm_spec(target).qemu)
    if found is None:
        package = QEMU_PACKAGES.get(vm_spec(target).qemu, "the package that provides it")
        raise HostSetupError(f"{vm_spec(target).qemu} is not installed; the VM tier boots {target.name} with it",
                             fix=f"apt-get install {package} qemu-system-data (or run ./bootstrap)")
    return found


def qemu_version(target: Target) -> str | None:
    """`qemu-system-X --version` for reports (None when it cannot say: starting reports the cause)."""
    try:
        out = subprocess.run([qemu_binary(target), "--version"], capture_output=True, text=True, timeout=30).stdout
    except (HostSetupError, OSError, subprocess.TimeoutExpired):
        return None
    return out.splitlines()[0] if out else None


@lru_cache(maxsize=None)
def _machines(binary: str) -> frozenset[str]:
    result = subprocess.run([binary, "-machine", "help"], capture_output=True, text=True, timeout=60)
    return frozenset(line.split()[0] for line in result.stdout.splitlines()[1:] if line.strip())


def require_runnable(target: Target) -> str:
    """The qemu-system binary, once the machine type and firmware the target names are known to be here."""
    assert vm_spec(target) is not None
    binary = qemu_binary(target)
    machine = vm_spec(target).machine_type
    if machine not in _machines(binary):
        raise ConfigError(f"{target.source.name}: vm.machine {machine!r} is not a machine {vm_spec(target).qemu} knows",
                          fix=f"choose one that `{vm_spec(target).qemu} -machine help` lists")
    models = cpu_models_of(binary)
    if models is not None and vm_spec(target).cpu not in models:
        raise ConfigError(f"{target.source.name}: vm.cpu {vm_spec(target).cpu!r} is not a CPU model {vm_spec(target).qemu} knows",
                          fix=f"choose one that `{vm_spec(target).qemu} -cpu help` lists")
    for name in vm_spec(target).firmware:
        if not any((directory / name).is_file() for directory in FIRMWARE_DIRS):
            raise HostSetupError(f"firmware {name} for {target.name}'s {machine} machine is missing "
                                 f"(looked in {', '.join(map(str, FIRMWARE_DIRS))})",
                                 fix="apt-get install qemu-system-data (or run ./bootstrap)")
    return binary


def kvm_usable(target: Target) -> bool:
    """KVM only helps a target of the host's own arch; elsewhere QEMU translates (TCG)."""
    return target.runs_natively and os.access("/dev/kvm", os.R_OK | os.W_OK)


def command_line(binary: str, target: Target, kernel: Path, initramfs: Path, disk: Path, share: Path) -> list[str]:
    vm = vm_spec(target)
    assert vm is not None
    accelerator = ["-accel", "kvm", "-cpu", "host"] if kvm_usable(target) else ["-accel", "tcg", "-cpu", vm.cpu]
    return [
        binary, "-machine", vm.machine, *accelerator, "-m", str(vm.memory), "-smp", str(vm.cpus),
        "-display", "none", "-monitor", "none", "-serial", "stdio", "-no-reboot", "-nodefaults",
        "-kernel", str(kernel), "-initrd", str(initramfs),
        # panic=-1: a panicking kernel reboots at once, and -no-reboot turns that into QEMU exiting.
        "-append", f"console={vm.console} panic=-1 rdinit=/init",
        "-drive", f"file={disk},format=raw,if=none,id=root,snapshot=on",
        "-device", "virtio-blk,drive=root",
        "-fsdev", f"local,id=share,path={share},security_model=none",
        "-device", f"virtio-9p,fsdev=share,mount_tag={guest.SHARE_TAG}",
        "-netdev", "user,id=net", "-device", "virtio-net,netdev=net" + (",romfile=" if _pci(vm.machine_type) else ""),
    ]


def _pci(machine_type: str) -> bool:
    return not machine_type.startswith("s390")
