"""The suite that needs no test code (`pytest --pyargs archsmoke.generic --binary X`), proved on programs built
here: a sound one passes, each defect it exists to catch fails it, naming the defect, and a tool with conventions
of its own (help exits 1, a re-released version) passes wherever it behaves as its build for this host does."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
import tarfile
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest

from toolwheels import make_wheel

PROGRAM = r"""
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef NEEDS_LIBRARY
void archsmoke_needed(void);
#endif
#ifndef HELP_EXIT
#define HELP_EXIT 0
#endif
static unsigned checksum(void) {
    uint32_t words[2] = {0x01020304u, 0x0a0b0c0du};
    unsigned sum = 0;
#ifdef HOST_ORDER_CHECKSUM  /* the bytes as this machine stores them: another answer on a big-endian machine */
    const unsigned char *bytes = (const unsigned char *)words;
    for (unsigned i = 0; i < sizeof words; i++) sum = sum * 31u + bytes[i];
#else
    for (unsigned i = 0; i < 2; i++)
        for (int shift = 0; shift < 32; shift += 8) sum = sum * 31u + ((words[i] >> shift) & 0xffu);
#endif
    return sum;
}
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
#ifdef NO_VERSION_FLAG  /* `tool version`, as zig has it */
    if (strcmp(flag, "--version") == 0) { fprintf(stderr, "error: unknown command: --version\n"); return 1; }
#endif
    if (strcmp(flag, "--version") == 0) {
        printf("%s %s\n", NAME, REPORTS);
#ifdef CRASHES_AT_EXIT
        fflush(stdout);
        raise(SIGSEGV);
#endif
        return 0;
    }
    if (strcmp(flag, "--help") == 0) {
        printf("usage: %s [--version]\nbuilt for this machine's words: %08x\n", NAME, checksum());
        return HELP_EXIT;
    }
    return 2;
}
"""

LIBRARY = "void archsmoke_needed(void) {}\n"
COMPILERS = {"x86_64": "gcc", "aarch64": "aarch64-linux-gnu-gcc", "ppc64le": "powerpc64le-linux-gnu-gcc",
             "s390x": "s390x-linux-gnu-gcc"}
# What Debian 12's compilers link against: __libc_start_main@GLIBC_2.34.  A wheel of theirs is manylinux_2_34.
TAG = "manylinux_2_34_{arch}"
# The tool's own conventions: --help exits 1, and a packaging re-release 2.0.0.1 prints upstream's 2.0.0.build-7.
CONVENTIONS = ["-DHELP_EXIT=1"]
UPSTREAM, PACKAGED = "2.0.0.build-7", "2.0.0.1"


@pytest.fixture(scope="module")
def build(tmp_path_factory):
    out = tmp_path_factory.mktemp("generic")
    (out / "mytool.c").write_text(PROGRAM)
    (out / "needed.c").write_text(LIBRARY)
    subprocess.run(["gcc", "-shared", "-fPIC", "-o", str(out / "libarchsmokeneeded.so"), str(out / "needed.c")],
                   check=True)

    def compile_(name: str, *flags: str, reports: str = "1.0.0", arch: str = "x86_64", program: str = "mytool") -> Path:
        directory = out / arch / name
        directory.mkdir(parents=True, exist_ok=True)
        binary = directory / program
        subprocess.run([COMPILERS[arch], "-O1", f'-DREPORTS="{reports}"', f'-DNAME="{program}"', "-o", str(binary),
                        str(out / "mytool.c"), *flags], check=True)
        return binary

    compile_.out = out
    return compile_


def _suite(tmp_path: Path, cache, *args: str, arch: tuple[str, ...] = ("--arch", "x86_64")) -> tuple[int, str]:
    done = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rA", "--pyargs",
                           "archsmoke.generic", *args, *arch, "--cache-dir", str(cache.root)],
                          cwd=tmp_path, capture_output=True, text=True, timeout=900)
    return done.returncode, done.stdout + done.stderr


def _wheels(build, tmp_path: Path, arches, *flags: str, version: str = PACKAGED,
            odd: dict[str, list[str]] | None = None, reports: dict[str, str] | None = None) -> list[str]:
    """One wheel per arch of the same release; `odd` and `reports` give some arches' builds other flags or words."""
    args = []
    for arch in arches:
        extra = (odd or {}).get(arch, [])
        said = (reports or {}).get(arch, UPSTREAM)
        binary = build(f"{version}-{said}-{'-'.join((*flags, *extra))}", *flags, *extra, reports=said, arch=arch)
        folder = tmp_path / arch
        folder.mkdir(exist_ok=True)
        args += ["--binary", str(make_wheel(folder, "mytool", version, {"mytool": binary.read_bytes()},
                                            TAG.format(arch=arch)))]
    return args


def _properties(junit: Path, test: str) -> dict[str, str]:
    case = next(c for c in ElementTree.parse(junit).iter("testcase") if c.get("name") == test)
    return {p.get("name"): p.get("value") for p in case.iter("property")}


def test_a_sound_program_passes_every_check(build, tmp_path, cache):
    code, output = _suite(tmp_path, cache, "--binary", str(build("sound")))
    assert code == 0, output
    assert "PASSED" in output and "test_the_dynamic_loader_finds_every_library[x86_64]" in output
    assert "a bare executable: the version under test is not known" in output  # the skips, and why
    assert "carries no label (no wheel tags, no arch in its name)" in output


def test_bare_executables_named_for_their_arches_are_one_product(build, tmp_path, cache):
    """`--binary dist/mytool-s390x --binary dist/mytool_linux_arm64` (the README's first example): one product,
    mytool, judged against its x86_64 build, not "which product do these tests test?"."""
    dist = tmp_path / "dist"
    dist.mkdir()
    for arch, name in (("x86_64", "mytool-x86_64"), ("s390x", "mytool-s390x"), ("aarch64", "mytool_linux_arm64")):
        shutil.copy(build("sound", arch=arch), dist / name)
    code, output = _suite(tmp_path, cache, *(f"--binary={p}" for p in sorted(dist.iterdir())), "--runner", "qemu-user",
                          arch=("--arch", "s390x,aarch64"))
    assert code == 0, output
    assert f"; mytool: {dist / 'mytool_linux_arm64'} sha256" in output, output
    assert "test_every_executable_answers_its_version[s390x]" in output


@pytest.mark.parametrize("defect, flags, failing, message", [
    ("signal", ["-DCRASHES_ON_HELP"], "test_every_executable_answers_help",
     "`mytool --help` was killed by signal 11 (SIGSEGV)"),
    ("allocator", ["-DALLOCATOR_COMPLAINS_ON_HELP"], "test_every_executable_answers_help",
     "`mytool --help` printed an allocator's abort ('<jemalloc>')"),
    ("library", ["-DNEEDS_LIBRARY", "-L{out}", "-larchsmokeneeded"], "test_the_dynamic_loader_finds_every_library",
     "mytool needs libarchsmokeneeded.so, which the x86_64 target does not have"),
], ids=["signal", "allocator", "library"])
def test_each_defect_fails_the_check_made_for_it(build, tmp_path, cache, defect, flags, failing, message):
    binary = build(defect, *(flag.format(out=build.out) for flag in flags))
    code, output = _suite(tmp_path, cache, "--binary", str(binary))
    assert code == 1, output
    assert "FAILED" in output and f"{failing}[x86_64]" in output, output
    assert message in output, output


def test_a_program_the_allocator_kills_at_once_errors_every_check_with_the_reason(build, tmp_path, cache):
    """The harness's own fast path: the first command died, so each test errors with that, not a wait."""
    code, output = _suite(tmp_path, cache, "--binary", str(build("aborts", "-DALLOCATOR_ABORT")))
    assert code == 1, output
    assert "was killed by signal 6 (SIGABRT)" in output and "<jemalloc>: Unsupported system page size" in output
    assert "ERROR" in output and "PASSED test_every" not in output


def test_a_wheel_reporting_another_version_than_its_own_fails(build, tmp_path, cache):
    binary = build("misversioned", reports="1.0.1")
    wheel = make_wheel(tmp_path, "mytool", "1.0.0", {"mytool": binary.read_bytes()}, TAG.format(arch="x86_64"))
    code, output = _suite(tmp_path, cache, "--binary", str(wheel))
    assert code == 1, output
    assert "FAILED test_every_executable.py::test_it_reports_the_version_under_test[x86_64]" in output
    assert "mytool reports 1.0.1, but 1.0.0 is under test" in output


ARCHES = ("x86_64", "aarch64", "ppc64le", "s390x")


def test_a_tool_with_its_own_conventions_passes_wherever_it_answers_as_its_reference(build, tmp_path, cache):
    """--help exits 1 and the wheel 2.0.0.1 prints 2.0.0.build-7, on every arch: the x86_64 build does the same."""
    junit = tmp_path / "junit.xml"
    code, output = _suite(tmp_path, cache, *_wheels(build, tmp_path, ARCHES, *CONVENTIONS), "--runner", "qemu-user",
                          f"--junitxml={junit}", arch=())
    assert code == 0, output
    for arch in ARCHES:  # without --arch: the arches the wheels' tags name
        assert f"PASSED test_every_executable.py::test_every_executable_answers_help[{arch}]" in output
        assert f"PASSED test_label.py::test_the_build_is_what_its_label_says[{arch}]" in output
    said = _properties(junit, "test_every_executable_answers_help[s390x]")["archsmoke_reference"]
    assert said.startswith("x86_64: ") and "mytool-2.0.0.1-py3-none-manylinux_2_34_x86_64.whl" in said
    assert _properties(junit, "test_every_executable_answers_help[x86_64]")["archsmoke_reference"] == \
        "this build is the reference"


def test_one_arch_that_answers_otherwise_fails_showing_both_sides(build, tmp_path, cache):
    wheels = _wheels(build, tmp_path, ("x86_64", "aarch64"), *CONVENTIONS,
                     odd={"aarch64": ["-UHELP_EXIT", "-DHELP_EXIT=2"]})
    code, output = _suite(tmp_path, cache, *wheels, "--runner", "qemu-user", arch=("--arch", "aarch64"))
    assert code == 1, output
    assert "FAILED test_every_executable.py::test_every_executable_answers_help[aarch64]" in output
    assert "`mytool --help` exited 2 on aarch64 (qemu-user runner), but exited 1 on x86_64 (reference)" in output
    assert "--- the reference build: x86_64: " in output and "result:  exit code 1" in output
    assert "PASSED test_every_executable.py::test_every_executable_answers_its_version[aarch64]" in output


def test_another_version_on_one_arch_fails_against_the_reference(build, tmp_path, cache):
    wheels = _wheels(build, tmp_path, ("x86_64", "aarch64"), *CONVENTIONS, reports={"aarch64": "2.0.0.build-8"})
    code, output = _suite(tmp_path, cache, *wheels, "--runner", "qemu-user", arch=("--arch", "aarch64"))
    assert code == 1, output
    assert "FAILED test_every_executable.py::test_every_executable_answers_its_version[aarch64]" in output
    assert "-mytool 2.0.0.build-7\n+mytool 2.0.0.build-8" in output, output
    # The release check alone would pass: 2.0.0.build-8 is upstream 2.0.0, the wheel's 2.0.0.1.
    assert "PASSED test_every_executable.py::test_it_reports_the_version_under_test[aarch64]" in output


@pytest.mark.parametrize("fixed", [False, True], ids=["host-order", "fixed"])
def test_a_big_endian_difference_fails_on_s390x_against_the_reference(build, tmp_path, cache, fixed):
    flags = [*CONVENTIONS, *([] if fixed else ["-DHOST_ORDER_CHECKSUM"])]
    code, output = _suite(tmp_path, cache, *_wheels(build, tmp_path, ("x86_64", "s390x"), *flags),
                          "--runner", "qemu-user", arch=("--arch", "s390x"))
    if fixed:
        assert code == 0, output
        return
    assert code == 1, output
    assert "FAILED test_every_executable.py::test_every_executable_answers_help[s390x]" in output
    assert "printed another stdout on s390x (qemu-user runner) than on x86_64 (reference)" in output
    assert "-built for this machine's words: " in output and "+built for this machine's words: " in output


def test_a_tool_without_a_version_flag_passes_beside_its_reference_and_says_what_was_not_checked(build, tmp_path,
                                                                                                  cache):
    """`tool --version` is an error on every build (zig's way): the builds agree, so nothing fails, and the release
    check says why it did not run."""
    wheels = _wheels(build, tmp_path, ("x86_64", "aarch64"), *CONVENTIONS, "-DNO_VERSION_FLAG")
    code, output = _suite(tmp_path, cache, *wheels, "--runner", "qemu-user", arch=("--arch", "aarch64"))
    assert code == 0, output
    assert "PASSED test_every_executable.py::test_every_executable_answers_its_version[aarch64]" in output
    assert "prints no version for `mytool --version` (exited 1): its answer is compared instead" in output
    (tmp_path / "alone").mkdir()
    alone = _wheels(build, tmp_path / "alone", ("aarch64",), *CONVENTIONS, "-DNO_VERSION_FLAG")
    code, output = _suite(tmp_path, cache, *alone, "--runner", "qemu-user", arch=("--arch", "aarch64"))
    assert code == 1 and "`mytool --version` exited 1, not 0" in output, output  # without a reference it must


def test_without_a_reference_help_may_exit_otherwise_than_0(build, tmp_path, cache):
    """One bare aarch64 executable: nothing to compare with; --help's exit code is then not judged, and says so."""
    junit = tmp_path / "junit.xml"
    code, output = _suite(tmp_path, cache, "--binary", str(build("alone", *CONVENTIONS, arch="aarch64")),
                          "--runner", "qemu-user", f"--junitxml={junit}", arch=())
    assert code == 0, output
    said = _properties(junit, "test_every_executable_answers_help[aarch64]")["archsmoke_reference"]
    assert said == "none: the mytool builds under test have none for this host's arch"


LAUNCHER = b"""import os, subprocess, sys


def main():
    raise SystemExit(subprocess.call([os.path.join(os.path.dirname(__file__), "data", "bin", "mytool"), *sys.argv[1:]]))
"""


def test_a_crash_behind_a_launcher_fails_on_every_arch_the_hosts_included(build, tmp_path, cache):
    """Prints its version, then dies by SIGSEGV: Python's launcher says exit 245, the executable behind it the
    signal.  The reference shares the defect, so it fails on x86_64 too."""
    args = []
    for arch in ("x86_64", "aarch64"):
        binary = build("crash-at-exit", "-DCRASHES_AT_EXIT", reports=UPSTREAM, arch=arch)
        folder = tmp_path / arch
        folder.mkdir()
        wheel = make_wheel(folder, "mytool", PACKAGED, {}, TAG.format(arch=arch),
                           package_files={"mytool/__init__.py": LAUNCHER, "mytool/data/bin/mytool": binary.read_bytes()},
                           console_scripts={"mytool": "mytool:main"})
        args += ["--binary", str(wheel)]
    code, output = _suite(tmp_path, cache, *args, "--runner", "qemu-user", arch=("--arch", "x86_64,aarch64"))
    assert code == 1, output
    for arch in ("x86_64", "aarch64"):
        assert f"FAILED test_every_executable.py::test_every_executable_answers_its_version[{arch}]" in output
    assert "`mytool --version` was killed by signal 11 (SIGSEGV) (its launcher exited 245)" in output


def _npm_package(path: Path, name: str, executables: dict[str, Path], bin_field=None) -> Path:
    manifest = {"name": name, "version": "2.0.0", "os": ["linux"], "cpu": ["x64"]}
    if bin_field is not None:
        manifest["bin"] = bin_field
    with tarfile.open(path, "w:gz") as tar:
        data = json.dumps(manifest).encode()
        info = tarfile.TarInfo("package/package.json")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
        for command, binary in executables.items():
            tar.add(binary, arcname=f"package/bin/{command}")
    return path


def test_an_npm_package_with_two_executables_and_no_bin_is_tested_as_published(build, tmp_path, cache):
    """Every ELF file is an executable of the build (the one named after the package is the main one): a second
    executable that crashes on --help fails the run."""
    main = build("npm-cli", reports="2.0.0", program="cli")
    server = build("npm-server", "-DCRASHES_ON_HELP", reports="2.0.0", program="cli_language_server")
    package = _npm_package(tmp_path / "scope-cli-linux-x64-2.0.0.tgz", "@scope/cli-linux-x64",
                           {"cli_language_server": server, "cli": main})
    code, output = _suite(tmp_path, cache, "--binary", str(package))
    assert code == 1, output
    assert "`cli_language_server --help` was killed by signal 11 (SIGSEGV)" in output
    assert "PASSED test_every_executable.py::test_it_reports_the_version_under_test[x86_64]" in output  # cli's 2.0.0
    sound = _npm_package(tmp_path / "scope-cli-linux-x64-2.0.1.tgz", "@scope/cli-linux-x64",
                         {"cli_language_server": build("npm-server-sound", reports="2.0.0", program="cli_language_server"),
                          "cli": main})
    code, output = _suite(tmp_path, cache, "--binary", str(sound))
    assert code == 0, output


def test_an_npm_bin_pointing_outside_the_package_fails_its_label_test(build, tmp_path, cache):
    main = build("npm-cli-outside", reports="2.0.0", program="cli")
    package = _npm_package(tmp_path / "cli-linux-x64-2.0.0.tgz", "@scope/cli-linux-x64", {"cli": main},
                           bin_field={"cli": "../../usr/bin/cli"})
    code, output = _suite(tmp_path, cache, "--binary", str(package))
    assert code == 1, output
    assert "FAILED test_label.py::test_the_build_is_what_its_label_says[x86_64]" in output
    assert "package.json's `bin` names '../../usr/bin/cli' for `cli`: outside the package" in output


def test_a_manylinux_wheel_holding_a_musl_linked_executable_fails_on_its_row(build, tmp_path, cache):
    """A release defect is a failed test (exit 1), not bad input (exit 4): the label test names the tag and the
    ELF's loader, and the install on that target errors with the same fact."""
    binary = build("musl-linked", reports=UPSTREAM)
    subprocess.run(["patchelf", "--set-interpreter", "/lib/ld-musl-x86_64.so.1", str(binary)], check=True)
    wheel = make_wheel(tmp_path, "mytool", PACKAGED, {"mytool": binary.read_bytes()}, TAG.format(arch="x86_64"))
    code, output = _suite(tmp_path, cache, "--binary", str(wheel), arch=())
    assert code == 1, output
    assert "FAILED test_label.py::test_the_build_is_what_its_label_says[x86_64]" in output
    assert ("wheel tag manylinux_2_34_x86_64 says glibc, but its executables are linked against musl "
            "(loader /lib/ld-musl-x86_64.so.1)") in output
    assert "is labelled for x86_64, but" in output  # the other tests error on that row, saying why


def test_a_wheel_needing_a_newer_glibc_than_its_tag_fails_its_label_test(build, tmp_path, cache):
    wheel = make_wheel(tmp_path, "mytool", PACKAGED, {"mytool": build("new-glibc", reports=UPSTREAM).read_bytes()},
                       "manylinux_2_17_x86_64")
    code, output = _suite(tmp_path, cache, "--binary", str(wheel))
    assert code == 1, output
    assert "FAILED test_label.py::test_the_build_is_what_its_label_says[x86_64]" in output
    assert "wheel tag manylinux_2_17_x86_64 promises glibc 2.17, but its executables need GLIBC_2.34" in output
    assert "PASSED test_every_executable.py::test_every_executable_answers_its_version[x86_64]" in output
