"""The binary under test: which product it is, its ELF identity, where it comes from, how it is installed."""

from .elf import ElfInfo, check_runs_on, read_elf
from .index import require_http_option
from .install import InstalledBinary, install, mark_for_cpu_floor, unmark
from .match import builds_of, expected_triple, fits, matching, require_a_build_for, runs_on, targets_for
from .product import ESBUILD, PRODUCTS, RUFF, UV, Product, ReportedVersion, product_named
from .release import download_release, require_version
from .unpack import BinaryUnderTest, prepare

__all__ = ["ESBUILD", "PRODUCTS", "RUFF", "UV", "BinaryUnderTest", "ElfInfo", "InstalledBinary", "Product", "ReportedVersion",
           "builds_of", "check_runs_on", "fits", "targets_for", "download_release", "expected_triple", "install", "mark_for_cpu_floor", "matching", "prepare",
           "product_named", "read_elf", "require_http_option", "require_a_build_for", "require_version", "runs_on", "unmark"]
