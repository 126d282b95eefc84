"""archsmoke's layers: each part of the package imports only parts below it (ARCHITECTURE.md draws them), so a
tier, an origin or a format can change without pulling what sits above it, and nothing imports back up."""

from __future__ import annotations

import ast
from pathlib import Path

HARNESS = Path(__file__).parents[2] / "harness"

# Lowest first.  Parts on one line are peers: they import neither each other nor anything above them.
LAYERS = [
    ("errors", "progress", "signals", "arches"),
    ("cache",),
    ("targets",),
    ("host",),
    ("download",),
    ("binary",),
    ("rootfs",),
    ("cpu_floor",),
    ("tiers",),
    ("placement",),
    ("wheel_dependencies",),
    ("installers",),
    ("coverage", "records", "install", "origins"),
    ("bisect",),
    ("plugin",),
    ("generic",),
    ("cli",),
    ("__main__",),
]
RANK = {part: rank for rank, parts in enumerate(LAYERS) for part in parts}


def _part(path: Path, root: Path = HARNESS) -> str:
    return path.relative_to(root).with_suffix("").parts[0]


def _imported_parts(path: Path, root: Path = HARNESS) -> set[str]:
    """The parts of archsmoke a module imports (at run time: imports only type checkers read are left out)."""
    tree = ast.parse(path.read_text())
    typing_only = {id(node) for block in ast.walk(tree) if isinstance(block, ast.If)
                   and getattr(block.test, "id", "") == "TYPE_CHECKING" for node in ast.walk(block)}
    package = list(path.relative_to(root).parent.parts)
    found = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.ImportFrom) or id(node) in typing_only:
            continue
        if node.level:
            base = package[:len(package) - (node.level - 1)]
            names = base + (node.module.split(".") if node.module else [])
            found.add(names[0] if names else node.names[0].name)
        elif node.module and node.module.startswith("archsmoke."):
            found.add(node.module.split(".")[1])
    return found


def test_every_part_of_the_package_has_a_layer():
    parts = {_part(path) for path in HARNESS.rglob("*.py")} - {"__init__"}
    assert parts <= set(RANK), f"parts with no layer: {sorted(parts - set(RANK))}"


def test_no_import_runs_back_up_the_house():
    upward = []
    for path in sorted(HARNESS.rglob("*.py")):
        part = _part(path)
        if part == "__init__":
            continue
        for imported in _imported_parts(path) - {part}:
            if imported in RANK and RANK[imported] >= RANK[part]:
                upward.append(f"{path.relative_to(HARNESS)} ({part}) imports {imported}")
    assert not upward, "\n".join(upward)


def test_the_check_sees_an_upward_import(tmp_path):
    """The targets reader importing the tier registry is caught (the check can fail); a type-only import is not."""
    copy = tmp_path / "harness" / "targets" / "catalog.py"
    copy.parent.mkdir(parents=True)
    original = (HARNESS / "targets" / "catalog.py").read_text()
    copy.write_text(original + "\nif TYPE_CHECKING:\n    from ..plugin import session\n")
    assert "plugin" not in _imported_parts(copy, tmp_path / "harness")
    copy.write_text(original + "\nfrom ..tiers import TIERS\n")
    assert "tiers" in _imported_parts(copy, tmp_path / "harness")
    assert RANK["tiers"] >= RANK[_part(copy, tmp_path / "harness")]
