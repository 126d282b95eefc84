"""Native code that a runtime loads: extension-module wheels, tested with the no-code suite as users install them.

extdemo (tests/self/extmodules/ext.c) is cross-compiled here for each arch, sound and with the defects real wheels
ship: an ARMv8.1 atomic and a POWER9 instruction in the module's init (SIGILL at the arch's floor), AVX2 on x86_64
(whose Python runs natively: the venv's own interpreter runs at the floor), and an allocator that assumes 4 KiB
pages (only the 64 KiB-page VM shows it).  Each defective wheel fails the default run on the tier that proves its
class, with the module and the signal or the abort named; the sound ones pass on every target.  Then a real
wheel from the package index, as published, and the wheel choice by the target's CPython on a loopback index.
"""

from __future__ import annotations


import pytest

from libruns import outcome, suite
from extwheels import ext_wheel

MARKUPSAFE = "3.0.2"  # cp311 wheels for x86_64, aarch64 and i686, glibc and musl; none for ppc64le or s390x






def test_sound_extension_modules_pass_on_every_target(tmp_path, cache):
    """One sound wheel per arch and C library (the module links no libc: one build is true to both tags)."""
    arches = ("x86_64", "i386", "aarch64", "armv7", "ppc64le", "s390x", "riscv64")
    wheels = [ext_wheel(tmp_path / "wheels", arch, libc=libc) for arch in arches for libc in ("glibc", "musl")]
    code, output = suite(tmp_path, cache, *(a for w in wheels for a in ("--binary", str(w))), "--arch", "all",
                          "--runner", "qemu-user", "-n", "2")
    assert code == 0, output[-6000:]
    for target in ("x86_64", "i386", "aarch64", "armv7", "ppc64le", "s390x", "riscv64", "aarch64-musl",
                   "armv7-musl", "ppc64le-musl", "riscv64-musl", "s390x-musl"):
        assert outcome(output, "test_every_module_imports", target) == "PASSED", (target, output[-6000:])
        assert outcome(output, "test_it_is_the_release_under_test", target) == "PASSED", (target, output[-6000:])


@pytest.mark.parametrize(("arch", "defect", "failing", "passing", "cause"), [
    ("aarch64", "lse", ["aarch64"], [], "was killed by signal 4 (SIGILL)"),
    ("ppc64le", "power9", ["ppc64le"], [], "was killed by signal 4 (SIGILL)"),
    ("x86_64", "avx2", ["x86_64"], [], "was killed by signal 4 (SIGILL)"),
    # qemu-user runs on this host's 4 KiB pages and passes it; the default run's VM boots the 64 KiB kernel.
    ("ppc64le", "4k-pages", ["ppc64le-vm"], ["ppc64le"], "printed an allocator's abort ('<jemalloc>')"),
])
def test_a_defective_extension_module_fails_the_default_run(tmp_path, cache, arch, defect, failing, passing, cause):
    wheel = ext_wheel(tmp_path, arch, defect)
    runner = [] if defect == "4k-pages" else ["--runner", "qemu-user"]  # the floor: qemu-user proves it
    code, output = suite(tmp_path, cache, "--binary", str(wheel), "--arch", arch, *runner)
    assert code == 1, output[-6000:]
    for placement in failing:
        assert outcome(output, "test_every_module_imports", placement) == "FAILED", output[-6000:]
    for placement in passing:
        assert outcome(output, "test_every_module_imports", placement) == "PASSED", output[-6000:]
    assert f"`import extdemo._fast` {cause}" in output, output[-6000:]
    assert "`import extdemo` " not in output, output[-6000:]  # the package itself imports: the module is named


OWN_TEST = '''
def test_the_module_sees_the_page_size_of_its_kernel(installed_python_package, target_placement):
    result = installed_python_package.python("-c", "import extdemo._fast as f; print(f.page_size())").check()
    assert int(result.stdout) == (65536 if target_placement.tier.name == "vm" else 4096)
'''


def test_a_sound_one_passes_at_the_real_page_size_and_a_projects_own_test_in_a_few_lines(tmp_path, cache):
    """The default run of ppc64le (qemu-user and the 64 KiB-page VM): the no-code suite and the README's example
    of a project's own test (`installed_python_package.python(...)`) in one run, as a project would run both."""
    (tmp_path / "test_mine.py").write_text(OWN_TEST)
    code, output = suite(tmp_path, cache, "test_mine.py", "--binary", str(ext_wheel(tmp_path, "ppc64le")),
                          "--arch", "ppc64le")
    assert code == 0, output[-6000:]
    for placement in ("ppc64le", "ppc64le-vm"):
        assert outcome(output, "test_every_module_imports", placement) == "PASSED", output[-6000:]
        assert outcome(output, "test_the_module_sees_the_page_size_of_its_kernel", placement) == "PASSED", output


def test_an_extension_for_another_arch_in_a_wheel_tagged_for_this_one(tmp_path, cache):
    """A ppc64le module packed into a wheel tagged aarch64: the label test names both, the install refuses it."""
    from extwheels import compile_module

    wrong = compile_module("ppc64le", "sound", tmp_path / "ppc64le.so")
    wheel = ext_wheel(tmp_path, "aarch64", "mislabelled", library=wrong)
    code, output = suite(tmp_path, cache, "--binary", str(wheel), "--arch", "aarch64", "--runner", "qemu-user")
    assert code == 1 and "Traceback" not in output, output[-6000:]
    assert outcome(output, "test_the_build_is_what_its_label_says", "aarch64") == "FAILED", output[-6000:]
    assert "wheel tag manylinux_2_17_aarch64 says aarch64, but its native library extdemo/_fast.abi3.so is a PPC64" \
        in output, output[-6000:]


def test_a_library_the_module_needs_and_the_wheel_does_not_ship(tmp_path, cache):
    from extwheels import compile_module

    needy = compile_module("aarch64", "sound", tmp_path / "needy.so", needs="libarchsmoke-missing.so.1")
    wheel = ext_wheel(tmp_path, "aarch64", "needy", library=needy)
    code, output = suite(tmp_path, cache, "--binary", str(wheel), "--arch", "aarch64", "--runner", "qemu-user")
    assert code == 1, output[-6000:]
    assert outcome(output, "test_the_dynamic_loader_finds_every_library", "aarch64") == "FAILED", output[-6000:]
    assert "extdemo/_fast.abi3.so needs libarchsmoke-missing.so.1, which the aarch64 target does not have" in output
    assert outcome(output, "test_every_module_imports", "aarch64") == "FAILED", output[-6000:]
    assert "`import extdemo._fast` failed (exit 1): ImportError: libarchsmoke-missing.so.1" in output, output[-6000:]


def test_a_release_is_chosen_for_the_targets_python_and_a_missing_one_is_named(tmp_path, cache, loopback_index):
    """On a loopback index: extdemo 1.0 for aarch64 as cp38-abi3 beside a cp399-only build (no target's CPython
    installs it) that would crash; ppc64le has none: exit 5, "no release ships"."""
    served = tmp_path / "served"
    sound = ext_wheel(served, "aarch64")
    crashing = ext_wheel(tmp_path / "other", "aarch64", "lse")
    other_python = served / sound.name.replace("cp38-abi3", "cp399-cp399")
    other_python.write_bytes(crashing.read_bytes())
    loopback_index.publish([sound, other_python])
    index = ["--index-url", loopback_index.url, "--release", "extdemo==1.0", "--runner", "qemu-user"]
    code, output = suite(tmp_path, cache, *index, "--arch", "aarch64")
    assert code == 0 and "extdemo-1.0-cp38-abi3-manylinux_2_17_aarch64.whl" in output, output[-6000:]
    code, output = suite(tmp_path, cache, *index, "--arch", "ppc64le")
    assert code == 5 and "Traceback" not in output, output[-6000:]
    assert "no release ships for this target: extdemo 1.0 has no wheel for platforms manylinux_2_17_ppc64le" in output


def test_a_real_wheel_from_the_index_as_published(tmp_path, cache):
    """MarkupSafe's speedups extension, the build pip takes on each target; none published for ppc64le."""
    code, output = suite(tmp_path, cache, "--release", f"markupsafe=={MARKUPSAFE}", "--arch",
                          "x86_64,aarch64,aarch64-musl", "--runner", "qemu-user")
    assert code == 0, output[-6000:]
    for target in ("x86_64", "aarch64", "aarch64-musl"):
        assert outcome(output, "test_every_module_imports", target) == "PASSED", output[-6000:]
        assert outcome(output, "test_the_dynamic_loader_finds_every_library", target) == "PASSED", output[-6000:]
    assert "MarkupSafe-3.0.2-cp311-cp311-musllinux_1_2_aarch64.whl" in output, output[-6000:]
    code, output = suite(tmp_path, cache, "--release", f"markupsafe=={MARKUPSAFE}", "--arch", "ppc64le",
                          "--runner", "qemu-user")
    assert code == 5 and "no release ships for this target: markupsafe 3.0.2 has no wheel" in output, output[-4000:]


def test_a_wheels_dependencies_come_from_the_index_and_a_missing_build_is_named(tmp_path, cache, loopback_index,
                                                                               monkeypatch):
    """extdemo 2.0 imports archsmoke-dep (pure, on the loopback index): installed as pip on the target would, its
    import passes; extdemo 3.0 needs archsmoke-armonly, published for aarch64 alone: on ppc64le that is the
    dependency's gap (the tests that need it installed skip saying so; its label is still checked), not a failure
    of extdemo."""
    from extwheels import pure_wheel

    scratch = tmp_path / "tmp"  # the runs' TMPDIR: where the dependencies are downloaded, and must not stay
    scratch.mkdir()
    monkeypatch.setenv("TMPDIR", str(scratch))
    loopback_index.publish([pure_wheel(tmp_path / "served", "archsmoke-dep"),
                            pure_wheel(tmp_path / "served", "archsmoke-armonly", platform="manylinux_2_17_aarch64")])
    needs_dep = ext_wheel(tmp_path / "two", "ppc64le", version="2.0", requires=("archsmoke-dep",))
    index = ["--index-url", loopback_index.url, "--arch", "ppc64le", "--runner", "qemu-user"]
    code, output = suite(tmp_path, cache, "--binary", str(needs_dep), *index)
    assert code == 0, output[-6000:]
    assert outcome(output, "test_every_module_imports", "ppc64le") == "PASSED", output[-6000:]
    needs_arm = ext_wheel(tmp_path / "three", "ppc64le", version="3.0", requires=("archsmoke-armonly",))
    code, output = suite(tmp_path, cache, "--binary", str(needs_arm), *index)
    assert code == 0 and "Traceback" not in output, output[-6000:]
    assert outcome(output, "test_the_build_is_what_its_label_says", "ppc64le") == "PASSED", output[-6000:]
    assert "needs archsmoke-armonly, which has no build for ppc64le (CPython 3.11, manylinux_2_36_ppc64le): a " \
           "dependency's gap, not extdemo's" in output, output[-6000:]
    assert " passed" in output and "1 passed, 7 skipped" in output, output[-6000:]
    assert not list(scratch.glob("archsmoke-deps-*")), "a download directory of the dependencies was left behind"


def test_a_module_needing_what_neither_the_wheel_nor_its_dependencies_ship_is_named_not_passed(tmp_path, cache):
    """extdemo's __init__ imports a module it does not declare: users' `pip install` fails the same way, but it
    is no crash of the native code: the import test skips naming the module (never a pass)."""
    wheel = ext_wheel(tmp_path, "aarch64", version="4.0", undeclared=("archsmoke_undeclared",))
    code, output = suite(tmp_path, cache, "--binary", str(wheel), "--arch", "aarch64", "--runner", "qemu-user")
    assert code == 0, output[-6000:]
    assert "not loaded: they need modules the build does not ship: archsmoke_undeclared (for `import extdemo`, " \
           "`import extdemo._fast`); nor do its declared dependencies" in output, output[-6000:]
    assert outcome(output, "test_every_module_imports", "aarch64") == "absent", output[-6000:]  # -rA: not PASSED


def test_a_dependency_by_url_is_refused_before_this_hosts_pip_fetches_it(tmp_path, cache):
    """The wheel is untrusted: `x @ file:///...` would have this host's pip copy a host file into the target."""
    secret = tmp_path / "host-secret.whl"
    secret.write_bytes(b"not for the build under test")
    wheel = ext_wheel(tmp_path, "aarch64", version="5.0", requires=(f"archsmoke-dep @ file://{secret}",))
    code, output = suite(tmp_path, cache, "--binary", str(wheel), "--arch", "aarch64", "--runner", "qemu-user")
    assert code == 4 and "Traceback" not in output, output[-6000:]
    assert "declares a dependency by URL ('archsmoke-dep @ file://" in output, output[-6000:]
    assert "dependencies from the package index only" in output and " passed" not in output, output[-6000:]
