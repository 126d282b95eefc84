"""archsmoke's command-line options, and which of them a run actually gave."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from ..origins import options as origin_options
from ..tiers import DEFAULT_TIERS, TIERS
from .session import Options

_GENERAL: list[str] = []  # dests of the options below, for `given`
FLAGS: set[str] = set()  # their spellings (each takes a value)


def _add(group, *flags, **kwargs) -> None:
    option = group.addoption(*flags, **kwargs)
    _GENERAL.append(kwargs.get("dest") or flags[0].lstrip("-").replace("-", "_"))
    FLAGS.update(flags)
    return option


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("archsmoke", "archsmoke: smoke tests of cross-built binaries on emulated targets")
    _add(group, "--arch", action="append", default=[], metavar="ARCH",
         help="target to test on (repeatable or comma-separated; 'all' for every target in vms/). Default: the "
              "arches of the --binary files given, else every emulated glibc target (ppc64le, s390x, aarch64, armv7, riscv64)")
    _add(group, "--binary", action="append", default=[], type=Path, metavar="PATH",
         help="binary under test: an executable, a wheel or a release archive (repeatable: each target takes the "
              "build made for it, each product its own executables)")
    _add(group, "--product", default=None, metavar="NAME",
         help="the product for tests that do not declare one (built in: uv, ruff); suites declare theirs with the "
              "archsmoke_product fixture")
    _add(group, "--release", action="append", default=[], metavar="VERSION",
         help="download this release's wheel for each target from the package index: VERSION for every product "
              "of the run, or NAME=VERSION for one ('latest', the default without --binary, is the newest)")
    _add(group, "--libc", default=None, metavar="LIBC",
         help="glibc or musl: test each chosen arch's target with that C library "
              "(--arch ppc64le --libc musl is ppc64le-musl; --libc musl alone: every musl target)")
    _add(group, "--runner", default=None, metavar="NAME[,NAME]",
         help=f"target tiers: {', '.join(TIERS)}, one or several comma-separated (each target runs on each). "
              f"Default: on {' and '.join(t.name for t in DEFAULT_TIERS)} as each target needs to prove both its "
              "page size and its CPU floor")
    for tier in TIERS.values():
        for option in tier.options:
            _add(group, option.flag, dest=option.dest, default=None, metavar=option.metavar, help=option.help,
                 **({"action": "append"} if option.repeatable else {}))
    _add(group, "--cpu", default=None, metavar="MODEL",
         help="QEMU CPU model for every emulated target, instead of each target's floor from vms/")
    _add(group, "--cache-dir", dest="archsmoke_cache_dir", type=Path, default=None, metavar="DIR",
         help="cache for root filesystems and downloads (default: $ARCHSMOKE_CACHE_DIR or "
              "$XDG_CACHE_HOME/archsmoke)")
    _add(group, "--targets-dir", type=Path, default=None, metavar="DIR",
         help="directory of target definitions (default: archsmoke's vms/)")
    _add(group, "--debian-mirror", default=None, metavar="URL",
         help="Debian archive to build root filesystems from (default: $ARCHSMOKE_DEBIAN_MIRROR, "
              "else this host's apt sources)")
    _add(group, "--archsmoke-stats", type=Path, default=None, metavar="FILE",
         help="write per-target timings (starts, commands, their own seconds, target wall seconds) as JSON "
              "(pytest-xdist workers add their id to the name)")
    _add(group, "--archsmoke-logs", type=Path, default=None, metavar="DIR",
         help="where to keep each failing target's log (every command it ran, with its output); "
              "default: beside the --junitxml file, if any")
    for option in origin_options():
        _add(group, option.flag, dest=option.dest, default=None, metavar=option.metavar, help=option.help)


def given(config: pytest.Config) -> bool:
    """Whether this run passed any archsmoke option (a run that passes none and uses no fixture is left alone)."""
    return any(config.getoption(dest) not in (None, []) for dest in _GENERAL)


def options_from(config: pytest.Config) -> Options:
    tier_values = {tier.name: {o.dest: config.getoption(o.dest) for o in tier.options} for tier in TIERS.values()}
    return Options(
        arches=config.getoption("arch"),
        binaries=config.getoption("binary"),
        product=config.getoption("product"),
        releases=config.getoption("release"),
        libc=config.getoption("libc"),
        runner=config.getoption("runner"),
        tier_values=tier_values,
        cpu=config.getoption("cpu"),
        cache_dir=config.getoption("archsmoke_cache_dir"),
        targets_dir=config.getoption("targets_dir"),
        debian_mirror=config.getoption("debian_mirror"),
        origin_values={option.dest: config.getoption(option.dest) for option in origin_options()},
    )


def _writable(directory: Path) -> bool:
    """Tried, not asked: os.access says yes to root everywhere, /proc included."""
    try:
        with tempfile.TemporaryFile(dir=directory):
            return True
    except OSError:
        return False


def check_output_paths(config: pytest.Config) -> None:
    """Where stats and logs go is checked before anything runs: at teardown a failing target's log would be lost."""
    problems = []
    stats = config.getoption("archsmoke_stats")
    if stats is not None:
        if stats.is_dir():
            problems.append(f"--archsmoke-stats {stats}: is a directory")
        elif not stats.parent.is_dir():
            problems.append(f"--archsmoke-stats {stats}: its directory {stats.parent} does not exist")
        elif not _writable(stats.parent):
            problems.append(f"--archsmoke-stats {stats}: its directory {stats.parent} is not writable")
    logs = config.getoption("archsmoke_logs")
    if logs is not None:
        existing = next(p for p in (logs, *logs.parents) if p.exists())
        if existing == logs and not logs.is_dir():
            problems.append(f"--archsmoke-logs {logs}: is a file, not a directory")
        elif not existing.is_dir() or not _writable(existing):
            problems.append(f"--archsmoke-logs {logs}: {existing} is not a writable directory")
    if problems:
        raise pytest.UsageError("archsmoke: " + "; ".join(problems) + "\n  fix: name a file (stats) or a directory "
                                "(logs) in an existing, writable directory")
