"""A tier is its own code plus one registry line: a minimal tier defined here (it runs a target's commands on this
host, in a temporary directory of its own), with its own YAML section and doctor check, registered by one line,
runs the no-code suite, and nothing outside its own code changes for it."""

from __future__ import annotations

import subprocess
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest

from archsmoke.errors import ConfigError
from archsmoke.tiers import TIERS, load_catalog
from extensions import pytest_with, write_and_import

VMS = Path(__file__).parents[2] / "vms"

TIER_MODULE = '''
"""hostdir: a target's commands run on this host, each in the target's own temporary directory."""

import os
import shlex
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from archsmoke.host.checks import Check
from archsmoke.targets.sections import Section
from archsmoke.tiers import register
from archsmoke.tiers.base import Runner
from archsmoke.tiers.tier import Tier
from archsmoke.tiers.results import CommandResult


@dataclass(frozen=True)
class HostDirSpec:
    label: str


def parse(fields):
    spec = HostDirSpec(label=fields.get("label", str))
    fields.reject_unknown()
    return spec


class HostDirRunner(Runner):
    name = "hostdir"

    def start(self):
        self.dir = tempfile.mkdtemp(prefix="archsmoke-hostdir-")
        self.started = True

    def stop(self):
        if self.started:
            shutil.rmtree(self.dir, ignore_errors=True)
        self.started = False

    @property
    def disposable(self):
        return False

    def own_path(self, path):
        return self.dir + path

    @property
    def root_description(self):
        return f"a directory of this host ({self.target.section('hostdir').label})"

    @property
    def kernel_facts(self):
        return {"kernel_release": os.uname().release, "page_size": str(os.sysconf("SC_PAGE_SIZE")),
                "cpu": "this host's CPU"}

    def _execute(self, argv, env, timeout, stdin):
        if os.environ.get("HOSTDIR_LOG"):
            with open(os.environ["HOSTDIR_LOG"], "a") as log:
                log.write(shlex.join(argv) + "\\n")
        started = time.monotonic()
        try:
            done = subprocess.run(argv, env=env, cwd=self.dir, input=stdin, capture_output=True, timeout=timeout)
        except subprocess.TimeoutExpired as late:
            return CommandResult(shlex.join(argv), self.where, -9, late.stdout or b"", late.stderr or b"",
                                 time.monotonic() - started, timeout, timed_out=True)
        return CommandResult(shlex.join(argv), self.where, done.returncode, done.stdout, done.stderr,
                             time.monotonic() - started, timeout)

    def _put(self, source, destination, mode):
        path = Path(destination)
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, path)
        path.chmod(mode)

    def _get(self, source, destination):
        shutil.copyfile(source, destination)


class HostDirTier(Tier):
    name = "hostdir"
    runner = HostDirRunner
    section = Section("hostdir", parse)

    @classmethod
    def execution(cls, target):
        return "natively, in a directory of this host"

    @classmethod
    def page_size(cls, target):
        return os.sysconf("SC_PAGE_SIZE")

    @classmethod
    def uses_rootfs(cls, settings, target):
        return False

    @classmethod
    def defines(cls, target):
        return target.section("hostdir") is not None

    @classmethod
    def unavailable(cls, target):
        return None if cls.defines(target) else f"{target.source.name} has no hostdir section"

    @classmethod
    def doctor_checks(cls, targets):
        mine = [t.name for t in targets if cls.defines(t)]
        return [Check("hostdir tier", True, f"runs {', '.join(mine) or 'no target'} in a directory of this host")]


register(HostDirTier)
'''

PROGRAM = r"""
#include <signal.h>
#include <stdio.h>
#include <string.h>
int main(int argc, char **argv) {
    const char *flag = argc > 1 ? argv[1] : "";
    if (strcmp(flag, "--version") == 0) { puts("hosttool 1.0.0"); return 0; }
#ifdef CRASHES_ON_HELP
    if (strcmp(flag, "--help") == 0) raise(SIGSEGV);
#endif
    if (strcmp(flag, "--help") == 0) { puts("usage: hosttool [--version]"); return 0; }
    return 2;
}
"""


@pytest.fixture
def tier_module(tmp_path):
    """The tier's whole code, as a module of its own; imported (and so registered) here, dropped afterwards."""
    folder = tmp_path / "tier"
    yield folder, write_and_import(folder, "hostdir_tier", TIER_MODULE)
    TIERS.pop("hostdir", None)


@pytest.fixture
def targets_dir(tmp_path):
    """x86_64 as archsmoke ships it, with the extra tier's own section."""
    folder = tmp_path / "vms"
    folder.mkdir()
    (folder / "x86_64.yaml").write_text((VMS / "x86_64.yaml").read_text() + "hostdir:\n  label: the test's own\n")
    return folder


def _tool(tmp_path: Path, *flags: str) -> Path:
    source = tmp_path / "hosttool.c"
    source.write_text(PROGRAM)
    binary = tmp_path / ("broken" if flags else "sound") / "hosttool"
    binary.parent.mkdir()
    subprocess.run(["gcc", "-O1", "-o", str(binary), str(source), *flags], check=True)
    return binary


def _suite(tmp_path: Path, tier_folder: Path, targets: Path, cache, binary: Path) -> tuple[int, str, Path, Path]:
    junit, log = tmp_path / f"junit-{binary.parent.name}.xml", tmp_path / f"commands-{binary.parent.name}.log"
    done = pytest_with(tier_folder, "hostdir_tier", ["--pyargs", "archsmoke.generic", "--binary", str(binary), "--arch",
                                                     "x86_64", "--runner", "hostdir", "--targets-dir", str(targets),
                                                     "--cache-dir", str(cache.root), f"--junitxml={junit}"],
                       tmp_path, {"HOSTDIR_LOG": str(log)})
    return done.returncode, done.stdout + done.stderr, junit, log


def test_extra_tier_runs_the_no_code_suite_with_its_own_section_and_doctor_check(tier_module, targets_dir, tmp_path,
                                                                                 cache):
    from archsmoke.cli.doctor import run_checks

    folder, module = tier_module
    # Its section is parsed by it, and its mistakes are named as the target reader names every other field's.
    target = load_catalog(targets_dir).get("x86_64")
    assert target.section("hostdir") == module.HostDirSpec("the test's own")
    (targets_dir / "x86_64.yaml").write_text((targets_dir / "x86_64.yaml").read_text() + "  colour: red\n")
    with pytest.raises(ConfigError, match="x86_64.yaml: field 'hostdir.colour' is not a known field"):
        load_catalog(targets_dir)
    (targets_dir / "x86_64.yaml").write_text((VMS / "x86_64.yaml").read_text() + "hostdir:\n  label: the test's own\n")
    # Its doctor line, beside the built-in tiers' own.
    checks = {check.name: check for check in run_checks([target], cache)}
    assert checks["hostdir tier"].detail == "runs x86_64 in a directory of this host"
    assert "ssh (for --runner ssh)" in checks

    code, output, junit, log = _suite(tmp_path, folder, targets_dir, cache, _tool(tmp_path))
    assert code == 0, output
    assert "passed" in output and "x86_64-hostdir" in output, output
    cases = list(ElementTree.parse(junit).iter("testcase"))
    ran = [c for c in cases if c.find("skipped") is None]
    assert ran, output
    for case in ran:
        properties = {p.get("name"): p.get("value") for p in case.iter("property")}
        assert properties["archsmoke_runner"] == "hostdir", properties
        assert properties["archsmoke_root"] == "a directory of this host (the test's own)", properties
    # The commands ran through the extra tier: the installed tool, in the tier's own directory.
    commands = log.read_text()
    assert "archsmoke-hostdir-" in commands and "hosttool --help" in commands, commands

    # A build with a defect fails through it too.
    code, output, _, _ = _suite(tmp_path, folder, targets_dir, cache, _tool(tmp_path, "-DCRASHES_ON_HELP"))
    assert code == 1, output
    assert "`hosttool --help` was killed by signal 11 (SIGSEGV)" in output, output
    assert not list(Path("/tmp").glob("archsmoke-hostdir-*")), "the tier's directories are gone"


def test_extra_tier_named_like_a_built_in_one_is_refused(tier_module):
    from archsmoke.tiers import register

    _, module = tier_module
    clash = type("Clash", (module.HostDirTier,), {"name": "vm", "section": None})
    with pytest.raises(ConfigError, match="two tiers are named 'vm'"):
        register(clash)
    same_section = type("SameSection", (module.HostDirTier,), {"name": "hostdir2", "section": module.HostDirTier.section})
    with pytest.raises(ConfigError, match="tier hostdir2's YAML section 'hostdir' is tier hostdir's"):
        register(same_section)
    assert set(TIERS) == {"qemu-user", "container", "vm", "ssh", "hostdir"}
