"""What the plugin reports: the run header, JUnit properties per test, per-target stats and logs, the summary."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ..binary import Product
from ..install import InstalledBinary
from .hooks import placement_of
from .verdict import NOTHING_TESTED, check_something_was_tested
from .state import active


def pytest_report_header(config: pytest.Config) -> list[str]:
    state = active(config)
    if state is None:
        return []
    releases = [f"{name or 'every product'} {version}" for name, version in state.releases.items()]
    if "" not in state.releases and not state.local_binaries:
        releases.append(f"{'other products' if releases else 'every product'} latest")
    source = ", ".join(b.origin for b in state.local_binaries) if state.local_binaries else \
        f"releases from the package index: {', '.join(releases)}"
    settings = state.tier_settings
    lines = [f"archsmoke: arches {', '.join(t.name for t in state.targets)}; binaries: {source}; cache {state.cache.root}",
             f"archsmoke: tiers: {'; '.join(tier.describe(settings[tier.name]) for tier in state.tiers)}"]
    return lines + placement_lines(state)


def placement_lines(state) -> list[str]:
    """Where each target runs and what that proves, then plainly what no tier of this run proves."""
    lines = []
    for target in state.targets:
        on = [f"{p.tier.name} ({p.tier.execution(target)}; proves {state.records[p.id].proves_text})"
              for p in state.placements if p.target == target]
        lines.append(f"archsmoke: {target.name} on {', '.join(on) or 'no tier'}")
    for placement, why in state.plan.dropped:
        lines.append(f"archsmoke: {placement.target.name} not on {placement.tier.name}: {why}")
    for gap in state.plan.gaps:
        lines.append(f"archsmoke: NOT COVERED: {gap.describe()}: a build that fails only there would pass this run")
    return lines


@pytest.fixture(autouse=True)
def _archsmoke_properties(request: pytest.FixtureRequest):
    """Attach target, tier, root, binary and product identity to every per-arch test (JUnit properties)."""
    before = active(request.config)
    mark = len(before.touched) if before is not None else 0
    yield
    placement = placement_of(request.node)
    state = active(request.config)
    if state is None or placement is None:
        return
    product = _product_of(request, state, mark, placement.target.name)
    record = state.records[placement.id]
    for name, value in record.properties(product).items():
        request.node.user_properties.append((name, value))


def _product_of(request: pytest.FixtureRequest, state, mark: int, target: str) -> str | None:
    """The product this test tested, through whichever fixture of its suite (the uv suite's `uv`, ruff's `ruff`,
    the plugin's `installed_binary`): a build it asked for during the test, else a product-bearing fixture value
    it used (session-scoped ones were made before), else its archsmoke_product."""
    used = [product for where, product in state.touched[mark:] if where == target]
    if used:
        return used[0]
    # pytest sets funcargs to None when it tears a test down early (Ctrl-C in the middle of it).
    values = list((getattr(request.node, "funcargs", None) or {}).values())
    for value in values:
        if isinstance(value, InstalledBinary):
            return value.product.name
    for value in values:
        if isinstance(value, Product):
            return value.name
    return None


def logs_dir(config: pytest.Config) -> Path | None:
    explicit = config.getoption("archsmoke_logs")
    junit = getattr(config.option, "xmlpath", None)
    return explicit or (Path(junit).parent if junit else None)


def pytest_sessionfinish(session: pytest.Session) -> None:
    check_something_was_tested(session)
    config = session.config
    path = config.getoption("archsmoke_stats")
    state = active(config)
    if path is None or state is None:
        return
    rows = {name: vars(record) for name, record in state.records.items() if record.starts}
    worker = getattr(config, "workerinput", {}).get("workerid")
    if worker:
        path.with_name(f"{path.name}.{worker}").write_text(json.dumps(rows))
        return
    # Under xdist the targets ran in the workers, each of which wrote its rows beside the file before it stopped;
    # a placement started on two workers (which the scheduler exists to prevent) shows as both, its starts summed.
    for part in sorted(path.parent.glob(f"{path.name}.gw*")):
        for name, row in json.loads(part.read_text()).items():
            row["workers"] = [part.suffix[1:]]
            if name in rows:
                row["starts"] += rows[name]["starts"]
                row["workers"] = rows[name]["workers"] + row["workers"]
            rows[name] = row
        part.unlink()
    path.write_text(json.dumps(rows, indent=2) + "\n")


def pytest_terminal_summary(terminalreporter, exitstatus, config: pytest.Config) -> None:
    nothing = config.stash.get(NOTHING_TESTED, None)
    if nothing:
        terminalreporter.write_sep("!", "nothing tested", red=True)
        terminalreporter.write_line(nothing, red=True)
    state = active(config)
    used = [r for r in state.records.values() if r.starts] if state else []
    if not used:
        return
    terminalreporter.section("archsmoke targets")
    for record in used:
        cpu = record.kernel.get("cpu")
        built = "; ".join(f"{name}: {b.get('origin', '-')} sha256 {b.get('sha256', '-')[:16]}"
                          + (f", reports {b['reported_version']}" if b.get("reported_version") else "")
                          + (f", loaded by {b['loaded_by']}" if b.get("loaded_by") else "")
                          for name, b in record.binaries.items())
        terminalreporter.write_line(
            f"{record.placement}: {record.runner}, {record.root or 'rootfs ' + str(record.rootfs_key)}, "
            f"{record.qemu or 'native'}, kernel {record.kernel.get('kernel_release', '?')} with "
            f"{int(record.kernel.get('page_size', 0)) // 1024} KiB pages" + (f", CPU {cpu}" if cpu else "")
            + f"; proves {record.proves_text}; {built or 'no binary'}")
    for gap in state.plan.gaps:
        terminalreporter.write_line(f"NOT COVERED: {gap.describe()}")
