"""Node.js addons: npm packages of .node files, tested with the no-code suite as users install and load them.

An N-API addon (tests/self/extmodules/addon.c) is cross-compiled here, sound and with the defects real addons
ship (ARMv8.1 atomics, AVX2 on x86_64, where node runs natively: its own copy runs at the floor; an allocator for
4 KiB pages, which only the 64 KiB-page VM shows), packed as `npm pack` writes a per-platform package.  The roots
get Debian's nodejs (a root variant, cached by content).  Then a real addon from the npm registry, as published.
"""

from __future__ import annotations


import pytest

from libruns import outcome, run_pytest, suite
from extwheels import ADDON_SOURCE, addon_package, compile_module

ROLLUP = "4.52.0"  # @rollup/rollup-linux-{arch}-gnu: x64, arm64, ppc64 (as powerpc64le), s390x, riscv64; no ia32
GLIBC_ARCHES = ("x86_64", "i386", "aarch64", "armv7", "ppc64le", "s390x", "riscv64")








def test_sound_addons_load_on_every_glibc_target(tmp_path, cache):
    packages = [addon_package(tmp_path / "packages", arch) for arch in GLIBC_ARCHES]
    code, output = suite(tmp_path, cache, *(a for p in packages for a in ("--binary", str(p))),
                          "--arch", ",".join(GLIBC_ARCHES), "--runner", "qemu-user", "-n", "2")
    assert code == 0, output[-6000:]
    for target in GLIBC_ARCHES:
        assert outcome(output, "test_every_addon_loads", target) == "PASSED", (target, output[-6000:])


@pytest.mark.parametrize(("arch", "defect", "failing", "passing", "cause"), [
    ("aarch64", "lse", ["aarch64"], [], "was killed by signal 4 (SIGILL)"),
    ("x86_64", "avx2", ["x86_64"], [], "was killed by signal 4 (SIGILL)"),
    ("ppc64le", "power9", ["ppc64le"], [], "was killed by signal 4 (SIGILL)"),
    ("ppc64le", "4k-pages", ["ppc64le-vm"], ["ppc64le"], "printed an allocator's abort ('<jemalloc>')"),
])
def test_a_defective_addon_fails_the_default_run(tmp_path, cache, arch, defect, failing, passing, cause):
    package = addon_package(tmp_path, arch, defect)
    runner = [] if defect == "4k-pages" else ["--runner", "qemu-user"]
    code, output = suite(tmp_path, cache, "--binary", str(package), "--arch", arch, *runner)
    assert code == 1, output[-6000:]
    for placement in failing:
        assert outcome(output, "test_every_addon_loads", placement) == "FAILED", output[-6000:]
    for placement in passing:
        assert outcome(output, "test_every_addon_loads", placement) == "PASSED", output[-6000:]
    assert f"`require('addon.node')` {cause}" in output, output[-6000:]


def test_a_package_whose_cpu_field_contradicts_its_addon(tmp_path, cache):
    """package.json says arm64; the .node file is ppc64le: the label test names both, the install refuses it."""
    wrong = compile_module("ppc64le", "sound", tmp_path / "ppc64le.node", source=ADDON_SOURCE)
    package = addon_package(tmp_path, "aarch64", "mislabelled", addon=wrong)
    code, output = suite(tmp_path, cache, "--binary", str(package), "--arch", "aarch64", "--runner", "qemu-user")
    assert code == 1 and "Traceback" not in output, output[-6000:]
    assert outcome(output, "test_the_build_is_what_its_label_says", "aarch64") == "FAILED", output[-6000:]
    assert "(cpu arm64, libc glibc) says aarch64, but its native library package/addon.node is a PPC64" in output, \
        output[-6000:]


OWN_TEST = '''
def test_the_addon_loads_from_node_modules(installed_node_package):
    result = installed_node_package.node("-e", "require('@archsmoke-demo/addon-linux-arm64-gnu'); console.log('ok')")
    assert result.check().stdout.strip() == "ok"
'''


def test_a_projects_own_test_of_its_addon_in_a_few_lines(tmp_path, cache):
    (tmp_path / "test_mine.py").write_text(OWN_TEST)
    code, output = run_pytest(tmp_path, cache, "test_mine.py", "--binary", str(addon_package(tmp_path, "aarch64")),
                        "--arch", "aarch64", "--runner", "qemu-user")
    assert code == 0 and "1 passed" in output, output[-4000:]


def test_a_real_addon_from_the_registry_as_published(tmp_path, cache):
    """Rollup's native parser, the per-platform package npm installs on each target; none for i386."""
    release = f"--release=@rollup/rollup-linux-{{arch}}-gnu=={ROLLUP}"  # `=`: pytest reads a lone @ARG as a file
    code, output = suite(tmp_path, cache, release, "--arch", "x86_64,aarch64", "--runner", "qemu-user")
    assert code == 0, output[-6000:]
    for target in ("x86_64", "aarch64"):
        assert outcome(output, "test_every_addon_loads", target) == "PASSED", output[-6000:]
        assert outcome(output, "test_the_dynamic_loader_finds_every_library", target) == "PASSED", output[-6000:]
    assert f"@rollup/rollup-linux-arm64-gnu {ROLLUP}" in output, output[-6000:]
    code, output = suite(tmp_path, cache, release, "--arch", "i386", "--runner", "qemu-user")
    assert code == 5 and "Traceback" not in output, output[-4000:]
    assert "no release ships for this target: the npm registry" in output and "rollup-linux-ia32-gnu" in output, output


@pytest.mark.parametrize("engine_name", ["podman", "docker"])
def test_an_addon_and_an_extension_module_on_the_container_tier(tmp_path, cache, engine_name):
    """The node root variant as an image, under each engine: the sound addon loads, the LSE extension dies."""
    from extwheels import ext_wheel

    tier = ["--arch", "aarch64", "--runner", "container", "--engine", engine_name]
    code, output = suite(tmp_path, cache, "--binary", str(addon_package(tmp_path, "aarch64")), *tier)
    assert code == 0, output[-6000:]
    assert outcome(output, "test_every_addon_loads", "aarch64-container") == "PASSED", output[-6000:]
    code, output = suite(tmp_path, cache, "--binary", str(ext_wheel(tmp_path, "aarch64", "lse")), *tier)
    assert code == 1 and "`import extdemo._fast` was killed by signal 4 (SIGILL)" in output, output[-6000:]
