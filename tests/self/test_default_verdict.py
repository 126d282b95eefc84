"""The default run (no --runner) gives the true verdict for both failure classes, whatever tier catches them.

Programs cross-compiled here: floorprog built above its arch's CPU floor (ARMv8.1 LSE atomics on
aarch64, one AVX2 instruction on x86_64) and at the floor; pagealloc built assuming 4 KiB pages and
correctly.  Each is tested by a user's one-test suite run as a user runs it, without --runner: the
bad builds fail (SIGILL on qemu-user at the floor CPU, jemalloc's abort on the VM's own kernel), the
good ones pass, and the report says which placement proved what.  Then a host without
qemu-system-ppc64: the page size is reported as not covered on ppc64le, never passed over in silence.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree

import pytest

HERE = Path(__file__).parent
FLOORPROG = HERE / "cpufloor" / "floorprog.c"
PAGEALLOC = HERE / "pagesize" / "pagealloc.c"
# arch -> (compiler, flags at the floor, flags above it)
FLOOR_BUILDS = {
    "aarch64": ("aarch64-linux-gnu-gcc", ["-march=armv8-a", "-mno-outline-atomics"],
                ["-march=armv8.1-a", "-mno-outline-atomics"]),
    "x86_64": ("gcc", [], ["-DAVX2"]),
}
PAGE_BUILDS = {"ppc64le": "powerpc64le-linux-gnu-gcc", "aarch64": "aarch64-linux-gnu-gcc"}
SUITE = '''
def test_runs(target, installed_binary):
    target.run([installed_binary.path, "--version"], env=installed_binary.env).check()
'''


def _compile(compiler: str, source: Path, flags: list[str], out: Path) -> Path:
    if shutil.which(compiler) is None:
        pytest.fail(f"{compiler} is missing: run ./bootstrap")
    out.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([compiler, "-static", "-O2", *flags, str(source), "-o", str(out)], check=True)
    return out


@pytest.fixture(scope="module")
def floor_builds(tmp_path_factory) -> dict[str, list[Path]]:
    """{"baseline"|"above-floor": one floorprog per arch}."""
    root = tmp_path_factory.mktemp("floorprog")
    return {kind: [_compile(compiler, FLOORPROG, flags[index], root / kind / arch / "floorprog")
                   for arch, (compiler, *flags) in FLOOR_BUILDS.items()]
            for index, kind in enumerate(("baseline", "above-floor"))}


@pytest.fixture(scope="module")
def page_builds(tmp_path_factory) -> dict[str, list[Path]]:
    root = tmp_path_factory.mktemp("pagealloc")
    return {kind: [_compile(compiler, PAGEALLOC, flags, root / kind / arch / "pagealloc")
                   for arch, compiler in PAGE_BUILDS.items()]
            for kind, flags in (("correct", []), ("assumes-4k", ["-DASSUMES_4K_PAGES"]))}


def _default_run(pytester, cache, builds: list[Path], *extra: str, env: dict[str, str] | None = None):
    pytester.makepyfile(test_user_suite=SUITE)
    junit = pytester.path / "junit.xml"
    args = ["-p", "no:cacheprovider", "--cache-dir", str(cache.root), f"--junitxml={junit}", "-rfE",
            *(arg for build in builds for arg in ("--binary", str(build))), *extra]
    if env is None:
        result = pytester.runpytest_subprocess(*args)
    else:
        result = subprocess.run([sys.executable, "-m", "pytest", *args], cwd=pytester.path, env=env,
                                capture_output=True, text=True, timeout=1200)
    output = result.stdout.str() if env is None else result.stdout + result.stderr
    code = result.ret if env is None else result.returncode
    cases = {case.get("name"): case for case in ElementTree.parse(junit).iter("testcase")}
    return code, output, cases, junit


def _properties(case) -> dict[str, str]:
    return {p.get("name"): p.get("value") for p in case.iter("property")}


def _failed(case) -> str | None:
    found = case.find("failure")
    found = case.find("error") if found is None else found
    return None if found is None else (found.get("message", "") + (found.text or ""))


def test_builds_at_the_cpu_floor_pass_the_default_run(pytester, cache, floor_builds):
    code, output, cases, _ = _default_run(pytester, cache, floor_builds["baseline"], "--arch", "aarch64,x86_64")
    assert code == 0, output
    assert sorted(cases) == ["test_runs[aarch64-vm]", "test_runs[aarch64]", "test_runs[x86_64]"], output
    assert _properties(cases["test_runs[aarch64]"])["archsmoke_proves"] == "CPU floor cortex-a53"
    assert _properties(cases["test_runs[aarch64-vm]"])["archsmoke_proves"] == "page size 16 KiB"
    x86 = _properties(cases["test_runs[x86_64]"])
    assert x86["archsmoke_proves"] == "page size 4 KiB; CPU floor qemu64" and x86["archsmoke_cpu"] == "qemu64"
    assert x86["archsmoke_qemu"].startswith("qemu-x86_64 version"), x86
    assert "NOT COVERED" not in output and "archsmoke_not_covered" not in x86
    assert ("archsmoke: aarch64 on qemu-user (emulated by qemu-aarch64; proves CPU floor cortex-a53), vm (its own kernel "
            "under qemu-system-aarch64 (TCG); proves page size 16 KiB)") in output, output
    # x86_64 runs natively here: the header says so, and how its CPU floor is still proven.
    assert ("archsmoke: x86_64 on qemu-user (natively, no emulator; the binary under test alone through qemu-x86_64 "
            "at its CPU floor; proves page size 4 KiB; CPU floor qemu64)") in output, output


def test_builds_above_the_cpu_floor_fail_the_default_run_with_sigill(pytester, cache, floor_builds):
    code, output, cases, _ = _default_run(pytester, cache, floor_builds["above-floor"], "--arch", "aarch64,x86_64")
    assert code == 1, output
    for name in ("test_runs[aarch64]", "test_runs[x86_64]"):
        failure = _failed(cases[name])
        assert failure and "SIGILL" in failure, (name, output)
    # The VM's cortex-a76 has LSE atomics: it passes there, and the qemu-user placement is what caught it.
    assert _failed(cases["test_runs[aarch64-vm]"]) is None, output


def test_a_build_assuming_4k_pages_fails_the_default_run(pytester, cache, page_builds):
    code, output, cases, _ = _default_run(pytester, cache, page_builds["assumes-4k"], "--arch", "ppc64le,aarch64")
    assert code == 1, output
    for arch in PAGE_BUILDS:
        assert _failed(cases[f"test_runs[{arch}]"]) is None, output  # the host's 4 KiB pages: a false pass alone
        failure = _failed(cases[f"test_runs[{arch}-vm]"])
        assert failure and "<jemalloc>: Unsupported system page size" in failure and "SIGABRT" in failure, output


def test_a_correct_page_size_build_passes_the_default_run(pytester, cache, page_builds):
    code, output, cases, _ = _default_run(pytester, cache, page_builds["correct"], "--arch", "ppc64le,aarch64")
    assert code == 0 and len(cases) == 4, output
    assert _properties(cases["test_runs[ppc64le-vm]"])["archsmoke_proves"] == "page size 64 KiB; CPU floor power8"


def test_a_host_without_the_vm_says_the_page_size_is_not_covered(pytester, cache, page_builds, tmp_path):
    """qemu-system-ppc64 missing (a PATH without it): ppc64le runs on qemu-user only, and every report says
    that its page size was not covered, and why."""
    shadow = tmp_path / "bin"
    shadow.mkdir()
    for directory in os.environ["PATH"].split(":") + ["/usr/sbin", "/usr/bin", "/sbin", "/bin"]:
        for tool in Path(directory).glob("*") if Path(directory).is_dir() else ():
            if tool.name != "qemu-system-ppc64" and not (shadow / tool.name).exists():
                (shadow / tool.name).symlink_to(tool)
    env = {**os.environ, "PATH": str(shadow)}
    code, output, cases, junit = _default_run(pytester, cache, page_builds["correct"][:1], "--arch", "ppc64le", env=env)
    assert code == 0 and sorted(cases) == ["test_runs[ppc64le]"], output
    assert re.search(r"NOT COVERED: page size 64 KiB on ppc64le: vm: qemu-system-ppc64 is not installed", output), output
    gap = _properties(cases["test_runs[ppc64le]"])["archsmoke_not_covered"]
    assert gap.startswith("page size 64 KiB on ppc64le: vm: qemu-system-ppc64 is not installed"), gap
    assert "qemu-user runs on this host's 4 KiB pages" in gap
    report = subprocess.run([sys.executable, "-m", "archsmoke", "report", str(junit)], capture_output=True, text=True)
    assert report.returncode == 0, report.stderr
    assert "**archsmoke ⚠️ passed, not everything covered**" in report.stdout, report.stdout
    assert "- ⚠️ **not covered**: page size 64 KiB on ppc64le: vm: qemu-system-ppc64 is not installed" in report.stdout
