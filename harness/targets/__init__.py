"""Targets: what to test on, from ``vms/*.yaml``."""

from .catalog import ALL, TargetCatalog, arch_words, default_targets_dir, load_target, parse_target
from .model import LIBCS, ElfIdentity, RootfsRecipe, Target, TimeBudgets, require_libc

__all__ = ["ALL", "LIBCS", "arch_words", "ElfIdentity", "RootfsRecipe", "Target", "TargetCatalog", "TimeBudgets",
           "default_targets_dir", "load_target", "parse_target", "require_libc"]
