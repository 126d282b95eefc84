"""The VM tier catches the failure class it exists for: a build that assumes 4 KiB pages.

pagesize/pagealloc.c is cross-compiled here with Debian's gcc cross compilers,
once as a correct build and once aborting as jemalloc built for 4 KiB pages
does.  Each is tested by a user's suite of one test, run as a user runs it,
on the qemu-user tier (the host's 4 KiB pages: both pass, the false pass this
tier exists to end) and on the VM tier (64 KiB on ppc64le, 16 KiB on aarch64:
the broken build fails, with jemalloc's message in the report).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from xml.etree import ElementTree

import pytest

SOURCE = Path(__file__).parent / "pagesize" / "pagealloc.c"
COMPILERS = {"ppc64le": "powerpc64le-linux-gnu-gcc", "aarch64": "aarch64-linux-gnu-gcc"}
ARCHES = ",".join(COMPILERS)
SUITE = '''
def test_pagealloc_runs(target, installed_binary):
    out = target.run([installed_binary.path, "--version"], env=installed_binary.env).check().stdout
    assert out.startswith("pagealloc 1.0 (")
'''


@pytest.fixture(scope="module")
def builds(tmp_path_factory) -> dict[str, Path]:
    """{"correct"|"assumes-4k": a directory of one pagealloc binary per arch}."""
    root = tmp_path_factory.mktemp("pagealloc")
    made = {}
    for kind, flags in (("correct", []), ("assumes-4k", ["-DASSUMES_4K_PAGES"])):
        for arch, compiler in COMPILERS.items():
            if shutil.which(compiler) is None:
                pytest.fail(f"{compiler} is missing: run ./bootstrap")
            out = root / kind / arch / "pagealloc"
            out.parent.mkdir(parents=True)
            subprocess.run([compiler, "-static", "-O2", *flags, str(SOURCE), "-o", str(out)], check=True)
        made[kind] = root / kind
    return made


def _run_suite(pytester, cache, build: Path, runner: str, *extra: str):
    pytester.makepyfile(test_pagealloc=SUITE)
    binaries = [arg for arch in COMPILERS for arg in ("--binary", str(build / arch / "pagealloc"))]
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", "--cache-dir", str(cache.root), "--runner", runner,
                                         "--arch", ARCHES, *binaries, "-rfE", *extra)


@pytest.mark.parametrize("runner", ["qemu-user", "vm"])
def test_a_correct_build_passes_on_every_tier(pytester, cache, builds, runner):
    junit = pytester.path / "junit.xml"
    result = _run_suite(pytester, cache, builds["correct"], runner, f"--junitxml={junit}")
    output = result.stdout.str()
    assert result.ret == 0 and re.search(r"\b2 passed\b", output), output
    properties = {case.get("name"): {p.get("name"): p.get("value") for p in case.iter("property")}
                  for case in ElementTree.parse(junit).iter("testcase")}
    suffix = "" if runner == "qemu-user" else f"-{runner}"
    ppc64le, aarch64 = (properties[f"test_pagealloc_runs[ppc64le{suffix}]"],
                        properties[f"test_pagealloc_runs[aarch64{suffix}]"])
    if runner == "vm":
        assert "with 64 KiB pages" in output and "with 16 KiB pages" in output, output
        assert ("archsmoke: ppc64le on vm (its own kernel under qemu-system-ppc64 (TCG); proves page size 64 KiB; "
                "CPU floor power8)") in output, output
        assert "archsmoke: aarch64 on vm (its own kernel under qemu-system-aarch64 (TCG); proves page size 16 KiB)" in output, output
        # aarch64's 16 KiB kernel needs cortex-a76, above the a53 floor: alone, this tier says it does not prove it.
        assert "NOT COVERED: CPU floor cortex-a53 on aarch64: vm runs it on cortex-a76" in output, output
        assert (ppc64le["archsmoke_page_size"], aarch64["archsmoke_page_size"]) == ("65536", "16384")
        assert ppc64le["archsmoke_machine"] == "pseries,x-vof=on" and aarch64["archsmoke_cpu"] == "cortex-a76"
        assert ppc64le["archsmoke_kernel_release"].endswith("-powerpc64le")
        assert ppc64le["archsmoke_qemu"].startswith("QEMU emulator version")
    else:
        assert ppc64le["archsmoke_page_size"] == aarch64["archsmoke_page_size"] == "4096"
        assert ppc64le["archsmoke_kernel_release"].endswith("(this host's kernel)")
        assert "archsmoke_machine" not in ppc64le


def test_a_build_assuming_4k_pages_passes_falsely_on_qemu_user(pytester, cache, builds):
    result = _run_suite(pytester, cache, builds["assumes-4k"], "qemu-user")
    output = result.stdout.str()
    assert result.ret == 0 and re.search(r"\b2 passed\b", output), output
    # The header says so plainly, for each arch, with the reason.
    assert "NOT COVERED: page size 64 KiB on ppc64le: qemu-user runs on this host's 4 KiB pages" in output, output
    assert "NOT COVERED: page size 16 KiB on aarch64: qemu-user runs on this host's 4 KiB pages" in output, output


def test_a_build_assuming_4k_pages_fails_on_the_vm_tier(pytester, cache, builds):
    result = _run_suite(pytester, cache, builds["assumes-4k"], "vm")
    output = result.stdout.str()
    assert result.ret == 1 and not re.search(r"\bpassed\b", output.splitlines()[-1]), output
    for arch in COMPILERS:
        assert re.search(rf"ERROR .*test_pagealloc_runs\[{arch}-vm\]", output), output
    assert output.count("<jemalloc>: Unsupported system page size") >= 2, output
    assert "SIGABRT" in output, output
