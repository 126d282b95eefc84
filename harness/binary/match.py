"""Which of the given builds runs on a target, and what it should say it was built for."""

from __future__ import annotations

from ..errors import BinaryError, NoBinaryForTarget
from ..targets import Target
from .elf import check_runs_on
from .label import covers
from .product import Product, known_executables
from .unpack import BinaryUnderTest


def runs_on(binary: BinaryUnderTest, target: Target) -> bool:
    try:
        check_runs_on(binary.elf, target)
    except BinaryError:
        return False
    return True


def fits(binary: BinaryUnderTest, target: Target) -> bool:
    """A build is for a target when its label names the target's platform, or, without one, when it runs there."""
    return covers(binary, target) or runs_on(binary, target)


def targets_for(binary: BinaryUnderTest, targets) -> list[Target]:
    """The targets a build is tested on without --arch: every platform its label names (a wheel tagged manylinux and
    musllinux: both), else those its executables run on."""
    named = [t for t in targets if covers(binary, t)]
    return named or [t for t in targets if runs_on(binary, t)]


def builds_of(binaries: list[BinaryUnderTest], product: Product) -> list[BinaryUnderTest]:
    """The given builds of this product: those shipping its main executable, or bare executables named
    for no known product (`--binary dist/mytool-ppc64le`)."""
    named = [b for b in binaries if b.provides(product)]
    if named:
        return named
    others = known_executables() - set(product.executables)
    return [b for b in binaries if b.kind == "executable" and b.executables[0].name not in others]


def require_a_build_for(builds: list[BinaryUnderTest], target: Target, what: str = "") -> None:
    """Refuse a target that none of the builds runs on; with one build, its own mismatch is the error."""
    if len(builds) == 1:
        if not covers(builds[0], target):
            check_runs_on(builds[0].elf, target)
        return
    if not any(fits(b, target) for b in builds):
        given = "; ".join(f"{b.origin}: {b.elf.describe()}" for b in builds)
        raise BinaryError(f"none of the {what}builds given runs on {target.name} ({target.elf.describe()}): {given}",
                          fix=f"add --binary with the {target.name} build, or drop {target.name} from --arch")


def matching(binaries: list[BinaryUnderTest], product: Product, target: Target) -> BinaryUnderTest:
    """The one given build of the product that runs on the target; with one build, its mismatch is the error."""
    builds = builds_of(binaries, product)
    if not builds:
        given = ", ".join(f"{b.origin} ({', '.join(b.names)})" for b in binaries)
        raise NoBinaryForTarget(f"no {product.name} build among the --binary files given: {given}",
                                fix=f"add --binary with a {product.name} build")
    require_a_build_for(builds, target, f"{product.name} ")
    # The build labelled for this platform first: a manylinux wheel and a static musllinux one both run on glibc.
    fitting = [b for b in builds if covers(b, target)] or [b for b in builds if runs_on(b, target)]
    if len(fitting) > 1:
        raise BinaryError(f"two --binary builds of {product.name} run on {target.name}: "
                          f"{fitting[0].origin} and {fitting[1].origin}",
                          fix="give one build per target")
    return fitting[0]


def expected_triple(binary: BinaryUnderTest, target: Target) -> str:
    """The Rust target triple a build of this linkage for this target reports (static builds are musl)."""
    if binary.elf.libc == "glibc":
        return target.triple
    arch, vendor, system, abi = target.triple.split("-", 3)
    return "-".join((arch, vendor, system, abi.replace("gnu", "musl")))
