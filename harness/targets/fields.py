"""Reading one YAML mapping field by field, with errors that name the file and the dotted field."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from ..errors import ConfigError

MISSING = object()


class Fields:
    def __init__(self, source: Path, data: Any, prefix: str = ""):
        self.source = source
        self.prefix = prefix
        if not isinstance(data, dict):
            where = f"field '{prefix.rstrip('.')}'" if prefix else "the file"
            raise self.error(where, f"must be a mapping of fields, got {_kind(data)}")
        self.data = data
        self.seen: set[str] = set()

    def error(self, where: str, what: str) -> ConfigError:
        return ConfigError(f"{self.source}: {where} {what}",
                           fix=f"edit {self.source.name}; see vms/README.md for every field")

    def get(self, key: str, kind: type | tuple[type, ...], default: Any = MISSING) -> Any:
        self.seen.add(key)
        field = f"field '{self.prefix}{key}'"
        if key not in self.data:
            if default is MISSING:
                raise self.error(field, "is missing")
            return default
        value = self.data[key]
        # YAML booleans are ints to Python; never accept one where a number is meant.
        if not isinstance(value, kind) or (isinstance(value, bool) and bool not in _as_tuple(kind)):
            raise self.error(field, f"must be {_names(kind)}, got {_kind(value)} {value!r}")
        return value

    def choice(self, key: str, allowed: tuple, default: Any = MISSING) -> Any:
        value = self.get(key, tuple({type(a) for a in allowed}), default)
        if value not in allowed:
            raise self.error(f"field '{self.prefix}{key}'",
                             f"must be one of {', '.join(map(str, allowed))}, got {value!r}")
        return value

    def string_list(self, key: str, default: Any = MISSING) -> tuple[str, ...]:
        value = self.get(key, list, default)
        if any(not isinstance(v, str) or not v for v in value):
            raise self.error(f"field '{self.prefix}{key}'", "must be a list of non-empty strings")
        return tuple(value)

    def positive(self, key: str, most: float = 86_400) -> float:
        value = self.get(key, (int, float))
        if not (math.isfinite(value) and 0 < value <= most):  # .nan and .inf are YAML floats too
            raise self.error(f"field '{self.prefix}{key}'", f"must be a positive number up to {most:g}, got {value!r}")
        return float(value)

    def section(self, key: str) -> Fields:
        return Fields(self.source, self.get(key, dict), f"{self.prefix}{key}.")

    def reject_unknown(self) -> None:
        unknown = sorted(set(self.data) - self.seen)
        if unknown:
            raise self.error(f"field '{self.prefix}{unknown[0]}'",
                             f"is not a known field; known here: {', '.join(sorted(self.seen))}")


def _as_tuple(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def _names(kind: type | tuple[type, ...]) -> str:
    names = {int: "a number", float: "a number", str: "a string", list: "a list", dict: "a mapping"}
    return " or ".join(sorted({names.get(k, k.__name__) for k in _as_tuple(kind)}))


def _kind(value: Any) -> str:
    return {type(None): "nothing", bool: "a boolean"}.get(type(value), _names(type(value)))
