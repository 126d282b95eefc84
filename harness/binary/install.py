"""Putting the binary under test into a started target the way users install it."""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field

from ..errors import BinaryError
from ..tiers.base import Runner
from .elf import check_runs_on
from .product import Product
from .unpack import BinaryUnderTest

INSTALL_PREFIX = "/opt/archsmoke"


@dataclass(frozen=True)
class InstalledBinary:
    binary: BinaryUnderTest
    product: Product
    bin_dir: str  # inside the target
    env: dict[str, str] = field(default_factory=dict)  # PATH with bin_dir first

    @property
    def path(self) -> str:
        return f"{self.bin_dir}/{self.product.main}"

    def executable(self, name: str | None = None) -> str:
        return f"{self.bin_dir}/{name or self.product.main}"

    def command(self, *args: str) -> str:
        return shlex.join([self.path, *args])


def check_loader(binary: BinaryUnderTest, runner: Runner) -> None:
    target = runner.target
    loader = binary.elf.interpreter
    if loader and not runner.file_exists(loader):
        raise BinaryError(
            f"{binary.origin} needs the dynamic loader {loader}, which the {target.name} "
            f"{target.libc} root filesystem does not have ({binary.elf.libc} binary on a {target.libc} target)",
            fix=f"pass a {target.libc} or static build for {target.name}",
        )


def install(binary: BinaryUnderTest, product: Product, runner: Runner) -> InstalledBinary:
    """A wheel into a venv by the target's own pip; executables onto PATH under the product's names.

    A target without Python (the musl roots) gets a wheel's executables onto PATH instead.
    """
    target = runner.target
    check_runs_on(binary.elf, target)
    check_loader(binary, runner)
    budget = target.timeouts.install
    if binary.kind == "wheel" and runner.has_python:
        venv = f"{INSTALL_PREFIX}/{product.name}/venv"
        staged = f"/tmp/archsmoke-install/{binary.file.name}"
        runner.put(binary.file, staged, mode=0o644)
        runner.run(["python3", "-m", "venv", "--without-pip", venv], timeout=budget).check()
        runner.run(["python3", "-m", "pip", "--python", f"{venv}/bin/python", "install", "--no-index", "--no-deps",
                    "--disable-pip-version-check", "--no-warn-script-location", staged], timeout=budget).check()
        bin_dir = f"{venv}/bin"
    else:
        bin_dir = "/usr/local/bin"
        runner.put(binary.main_for(product), f"{bin_dir}/{product.main}", mode=0o755)
        for extra in binary.extras_for(product):
            runner.put(extra, f"{bin_dir}/{extra.name}", mode=0o755)
    return InstalledBinary(binary=binary, product=product, bin_dir=bin_dir,
                           env={"PATH": f"{bin_dir}:{runner.environment()['PATH']}"})
