"""What a reader needs to trust a result on one placement, and how it travels: the JUnit properties the plugin
writes on every test and `archsmoke report` reads back (one schema, here, for both)."""

from __future__ import annotations

from dataclasses import dataclass, field

PREFIX = "archsmoke_"
PROOF_SEPARATOR = "; "  # between the classes in archsmoke_proves
GAP_SEPARATOR = " | "  # between the gaps in archsmoke_not_covered (a gap's reason may hold "; ")
NOTHING_PROVEN = "nothing of either class"


class Property:
    """The JUnit property names (each also a key of the report's identity, without the prefix)."""

    TARGET = PREFIX + "target"
    RUNNER = PREFIX + "runner"
    PLACEMENT = PREFIX + "placement"  # the target on its tier, as test ids name it: ppc64le, ppc64le-vm
    PROVES = PREFIX + "proves"
    NOT_COVERED = PREFIX + "not_covered"
    TIER_LABEL = PREFIX + "tier_label"
    PRODUCT = PREFIX + "product"
    REPORTED_VERSION = PREFIX + "reported_version"
    BINARY = PREFIX + "binary_"  # + origin, sha256, version, loaded_by (what loads a library build, at which CPU)
    # and the kernel facts, each under its own name: kernel_release, page_size, cpu, machine


def gaps_in(value: str) -> list[str]:
    """archsmoke_not_covered back as its gaps."""
    return [gap for gap in value.split(GAP_SEPARATOR) if gap]


def identity_of(properties: dict[str, str]) -> dict[str, str]:
    """A test's archsmoke properties by their names without the prefix (target, proves, kernel_release, ...)."""
    return {name.removeprefix(PREFIX): value for name, value in properties.items() if name.startswith(PREFIX)}


@dataclass
class TargetRecord:
    """What a reader needs to trust a result on one placement."""

    target: str
    runner: str
    placement: str = ""  # the target on its tier, as test ids name it: ppc64le, ppc64le-vm
    proves: list[str] = field(default_factory=list)  # the failure classes it proves: "page size 64 KiB"
    gaps: list[str] = field(default_factory=list)  # what no tier of the run proves for this target, and why
    tier_label: str = ""  # how report columns name the tier ("" for qemu-user)
    rootfs_key: str | None = None
    root: str | None = None  # what the commands ran in: a root filesystem, or an image and where it came from
    qemu: str | None = None
    kernel: dict[str, str] = field(default_factory=dict)  # kernel_release, page_size (and a VM's machine, cpu)
    starts: int = 0
    commands: int = 0
    command_seconds: float = 0.0  # the commands' own durations in the target
    target_seconds: float = 0.0  # from asking for the target until it was stopped
    programs: dict[str, list] = field(default_factory=dict)  # program run -> [commands, their seconds] (bench/)
    binaries: dict[str, dict[str, str]] = field(default_factory=dict)  # product -> origin, sha256, version, reported

    @property
    def proves_text(self) -> str:
        return PROOF_SEPARATOR.join(self.proves) or NOTHING_PROVEN

    @property
    def not_covered(self) -> str:
        return GAP_SEPARATOR.join(self.gaps)

    def take_back(self, what: str) -> None:
        """Stop claiming a class ("page size 64 KiB", or "CPU floor" for any floor): the run found it unproven."""
        self.proves = [proof for proof in self.proves if not proof.startswith(what)]

    def properties(self, product: str | None = None) -> dict[str, str]:
        values = {Property.TARGET: self.target, Property.RUNNER: self.runner, Property.PLACEMENT: self.placement,
                  Property.PROVES: self.proves_text, Property.NOT_COVERED: self.not_covered,
                  Property.TIER_LABEL: self.tier_label, PREFIX + "rootfs_key": self.rootfs_key,
                  PREFIX + "root": self.root, PREFIX + "qemu": self.qemu}
        found = {name: str(value) for name, value in values.items() if value not in (None, "")}
        found.update({PREFIX + name: value for name, value in self.kernel.items()})
        if product and product in self.binaries:
            found[Property.PRODUCT] = product
            found.update({Property.BINARY + k if k != "reported_version" else Property.REPORTED_VERSION: v
                          for k, v in self.binaries[product].items() if v})
        return found
