"""The suite that needs no test code (`pytest --pyargs archsmoke.generic --binary X`), proved on programs built
here: a sound one passes, and each defect it exists to catch fails it, naming the defect."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from toolwheels import make_wheel

PROGRAM = r"""
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef NEEDS_LIBRARY
void archsmoke_needed(void);
#endif
int main(int argc, char **argv) {
#ifdef NEEDS_LIBRARY
    if (argc > 5) archsmoke_needed();
#endif
    const char *flag = argc > 1 ? argv[1] : "";
#ifdef CRASHES_ON_HELP
    if (strcmp(flag, "--help") == 0) raise(SIGSEGV);
#endif
#ifdef ALLOCATOR_ABORT
    fputs("<jemalloc>: Unsupported system page size\n", stderr);
    abort();
#endif
#ifdef ALLOCATOR_COMPLAINS_ON_HELP
    if (strcmp(flag, "--help") == 0) fputs("<jemalloc>: Unsupported system page size\n", stderr);
#endif
    if (strcmp(flag, "--version") == 0) { printf("mytool %s\n", REPORTS); return 0; }
    if (strcmp(flag, "--help") == 0) { printf("usage: mytool [--version]\n"); return 0; }
    return 2;
}
"""

LIBRARY = "void archsmoke_needed(void) {}\n"


@pytest.fixture(scope="module")
def build(tmp_path_factory):
    out = tmp_path_factory.mktemp("generic")
    (out / "mytool.c").write_text(PROGRAM)
    (out / "needed.c").write_text(LIBRARY)
    subprocess.run(["gcc", "-shared", "-fPIC", "-o", str(out / "libarchsmokeneeded.so"), str(out / "needed.c")],
                   check=True)

    def compile_(name: str, *flags: str, reports: str = "1.0.0") -> Path:
        directory = out / name
        directory.mkdir()
        binary = directory / "mytool"
        subprocess.run(["gcc", "-O1", f'-DREPORTS="{reports}"', "-o", str(binary), str(out / "mytool.c"), *flags],
                       check=True)
        return binary

    compile_.out = out
    return compile_


def _suite(tmp_path: Path, binary: Path, *extra: str) -> tuple[int, str]:
    done = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rA", "--pyargs",
                           "archsmoke.generic", "--binary", str(binary), "--arch", "x86_64", *extra],
                          cwd=tmp_path, capture_output=True, text=True, timeout=600)
    return done.returncode, done.stdout + done.stderr


def test_a_sound_program_passes_every_check(build, tmp_path, cache):
    code, output = _suite(tmp_path, build("sound"), "--cache-dir", str(cache.root))
    assert code == 0, output
    assert "PASSED" in output and "test_the_dynamic_loader_finds_every_library[x86_64]" in output
    assert "a bare executable: the version under test is not known" in output  # the one skip, and why


@pytest.mark.parametrize("defect, flags, failing, message", [
    ("signal", ["-DCRASHES_ON_HELP"], "test_every_executable_answers_help", "`mytool --help` was killed by a signal"),
    ("allocator", ["-DALLOCATOR_COMPLAINS_ON_HELP"], "test_every_executable_answers_help",
     "`mytool --help` printed an allocator's abort ('<jemalloc>')"),
    ("library", ["-DNEEDS_LIBRARY", "-L{out}", "-larchsmokeneeded"], "test_the_dynamic_loader_finds_every_library",
     "mytool needs libarchsmokeneeded.so, which the x86_64 target does not have"),
], ids=["signal", "allocator", "library"])
def test_each_defect_fails_the_check_made_for_it(build, tmp_path, cache, defect, flags, failing, message):
    binary = build(defect, *(flag.format(out=build.out) for flag in flags))
    code, output = _suite(tmp_path, binary, "--cache-dir", str(cache.root))
    assert code == 1, output
    assert "FAILED" in output and f"{failing}[x86_64]" in output, output
    assert message in output, output


def test_a_program_the_allocator_kills_at_once_errors_every_check_with_the_reason(build, tmp_path, cache):
    """The harness's own fast path: the first command died, so each test errors with that, not a wait."""
    code, output = _suite(tmp_path, build("aborts", "-DALLOCATOR_ABORT"), "--cache-dir", str(cache.root))
    assert code == 1, output
    assert "was killed by signal 6 (SIGABRT)" in output and "<jemalloc>: Unsupported system page size" in output
    assert "ERROR" in output and "PASSED" not in output


def test_a_wheel_reporting_another_version_than_its_own_fails(build, tmp_path, cache):
    binary = build("misversioned", reports="1.0.1")
    wheel = make_wheel(tmp_path, "mytool", "1.0.0", {"mytool": binary.read_bytes()}, "manylinux_2_17_x86_64")
    code, output = _suite(tmp_path, wheel, "--cache-dir", str(cache.root))
    assert code == 1, output
    assert "test_it_reports_the_version_under_test[x86_64]" in output
    assert "mytool reports 1.0.1, but 1.0.0 is under test" in output
