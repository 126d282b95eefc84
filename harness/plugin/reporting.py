"""What the plugin reports: the run header, JUnit properties per test, per-target stats and logs, the summary."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

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
    lines = [f"archsmoke: arches {', '.join(t.name for t in state.targets)}; runner "
             f"{state.tier.describe(state.tier_settings)}; binaries: {source}; cache {state.cache.root}"]
    lines.append(page_size_note(state))
    return lines


def page_size_note(state) -> str:
    """Plainly, which page size the targets' commands see, and where it is not their real machines' one."""
    if state.tier.runner.boots_own_kernel:
        sizes = ", ".join(f"{t.name} {t.page_size // 1024} KiB" for t in state.targets)
        return f"archsmoke: each target boots its own kernel, with its own page size ({sizes}); checked at start"
    host = os.sysconf("SC_PAGE_SIZE")
    other = [f"{t.name} {t.page_size // 1024} KiB" for t in state.targets if t.page_size != host]
    note = f"archsmoke: targets run on this host's kernel with its {host // 1024} KiB pages"
    if other:
        note += (f", not the page size of their kernels ({', '.join(other)}): a build that assumes "
                 f"{host // 1024} KiB pages passes here; run --runner vm to catch it")
    return note


@pytest.fixture(autouse=True)
def _archsmoke_properties(request: pytest.FixtureRequest):
    """Attach target, tier, root, binary and product identity to every per-arch test (JUnit properties)."""
    yield
    callspec = getattr(request.node, "callspec", None)
    state = active(request.config)
    if state is None or not callspec or "arch_target" not in callspec.params:
        return
    product = None
    if "archsmoke_product" in request.fixturenames:
        try:
            product = request.getfixturevalue("archsmoke_product").name
        except Exception:  # the product could not be chosen: the test already failed saying why
            product = None
    record = state.records[callspec.params["arch_target"].name]
    for name, value in record.properties(product).items():
        request.node.user_properties.append((name, value))


def logs_dir(config: pytest.Config) -> Path | None:
    explicit = config.getoption("archsmoke_logs")
    junit = getattr(config.option, "xmlpath", None)
    return explicit or (Path(junit).parent if junit else None)


def pytest_sessionfinish(session: pytest.Session) -> None:
    config = session.config
    path = config.getoption("archsmoke_stats")
    state = active(config)
    if path is None or state is None:
        return
    worker = getattr(config, "workerinput", {}).get("workerid")
    if worker:
        path = path.with_name(f"{path.name}.{worker}")
    rows = {name: vars(record) for name, record in state.records.items() if record.starts}
    path.write_text(json.dumps(rows, indent=2) + "\n")


def pytest_terminal_summary(terminalreporter, exitstatus, config: pytest.Config) -> None:
    state = active(config)
    used = [r for r in state.records.values() if r.starts] if state else []
    if not used:
        return
    terminalreporter.section("archsmoke targets")
    for record in used:
        built = "; ".join(f"{name}: {b.get('origin', '-')} sha256 {b.get('sha256', '-')[:16]}"
                          + (f", reports {b['reported_version']}" if b.get("reported_version") else "")
                          for name, b in record.binaries.items())
        terminalreporter.write_line(
            f"{record.target}: {record.runner}, {record.root or 'rootfs ' + str(record.rootfs_key)}, "
            f"{record.qemu or 'native'}, kernel {record.kernel.get('kernel_release', '?')} with "
            f"{int(record.kernel.get('page_size', 0)) // 1024} KiB pages; {built or 'no binary'}")
