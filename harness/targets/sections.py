"""A part of a target's YAML that one tier owns (`vm:` for the VM tier, `image:` for the container tier).

The target reader knows no tier: it is handed the sections of the tiers registered in tiers/__init__.py
(`archsmoke.tiers.load_catalog`), parses each with the tier's own parser, and keeps the result on the Target,
where only that tier reads it (`Target.section(key)`).  A key no registered tier owns is an unknown field.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from .fields import Fields


@dataclass(frozen=True)
class Section:
    key: str  # the top-level YAML key
    parse: Callable[[Fields], Any]  # the section's fields -> the tier's frozen (hashable) spec; ConfigError if bad
