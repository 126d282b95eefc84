"""The binary under test: which product it is, its ELF identity, its formats and label, which build fits which
target (installing it in a started target: install.py; downloading releases: origins/)."""

from .elf import ElfInfo, check_runs_on, read_elf
from .index import require_http_option
from .match import builds_of, expected_triple, fits, matching, require_a_build_for, runs_on, targets_for
from .product import ESBUILD, PRODUCTS, RUFF, UV, Product, ReportedVersion, product_for_release, product_named
from .release import require_version
from .unpack import BinaryUnderTest, prepare

__all__ = ["ESBUILD", "PRODUCTS", "RUFF", "UV", "BinaryUnderTest", "ElfInfo", "Product", "ReportedVersion",
           "builds_of", "check_runs_on", "fits", "targets_for", "expected_triple", "matching", "prepare",
           "product_for_release", "product_named", "read_elf", "require_http_option", "require_a_build_for", "require_version", "runs_on"]
