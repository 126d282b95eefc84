"""What a reader needs to trust a result on one placement: JUnit properties, stats, the terminal summary."""

from __future__ import annotations

from dataclasses import dataclass, field

@dataclass
class TargetRecord:
    """What a reader needs to trust a result on one target."""

    target: str
    runner: str
    placement: str = ""  # the target on its tier, as test ids name it: ppc64le, ppc64le-vm
    proves: str = ""  # the failure classes this placement proves: "page size 64 KiB; CPU floor power8"
    not_covered: str = ""  # what no tier of the run proves for this target, and why
    tier_label: str = ""  # how report columns name the tier ("" for qemu-user)
    rootfs_key: str | None = None
    root: str | None = None  # what the commands ran in: a root filesystem, or an image and where it came from
    qemu: str | None = None
    kernel: dict[str, str] = field(default_factory=dict)  # kernel_release, page_size (and a VM's machine, cpu)
    starts: int = 0
    commands: int = 0
    command_seconds: float = 0.0  # the commands' own durations in the target
    target_seconds: float = 0.0  # from asking for the target until it was stopped
    binaries: dict[str, dict[str, str]] = field(default_factory=dict)  # product -> origin, sha256, version, reported

    def properties(self, product: str | None = None) -> dict[str, str]:
        found = {f"archsmoke_{k}": str(v) for k, v in vars(self).items() if v not in (None, "") and k in _IDENTITY}
        found.update({f"archsmoke_{k}": v for k, v in self.kernel.items()})
        if product and product in self.binaries:
            found["archsmoke_product"] = product
            found.update({f"archsmoke_binary_{k}" if k != "reported_version" else "archsmoke_reported_version": v
                          for k, v in self.binaries[product].items() if v})
        return found


_IDENTITY = ("target", "runner", "placement", "proves", "not_covered", "tier_label", "rootfs_key", "root", "qemu")
