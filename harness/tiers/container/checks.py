"""The container tier's lines of `doctor`: each engine, its version and whether it answers, and how archsmoke
adapts to this host."""

from __future__ import annotations

import os

from ...host import engine
from ...host.checks import Check


def container_checks() -> list[Check]:
    engines = engine.survey()
    usable = [found for found in engines.values() if isinstance(found, engine.Engine)]
    if not usable:
        problems = {name: why for name, why in engines.items() if isinstance(why, str)}
        return [Check("container engine (for --runner container)", False,
                      "none usable: " + "; ".join(f"{n}: {why}" for n, why in problems.items()),
                      engine.fix_for(problems))]
    checks = []
    for name, found in engines.items():
        if isinstance(found, str):
            checks.append(Check(name, True, f"not usable here, so not tested here: {found}"))
            continue
        role = "the default engine" if found is usable[0] else f"answers too (--engine {name})"
        how = ", rootless (as this user: needs a cache this user owns; no subordinate uids needed)" \
            if name == "podman" and os.geteuid() != 0 else ""
        checks.append(Check(name, True, f"{found.version} at {found.path}: {role}" +
                            (how if name == "podman" else ", its daemon answers")))
        for choice in found.choices:
            checks.append(Check(f"{name} adapted", True, f"{' '.join(choice.flags)}: {choice.reason}"))
    return checks
