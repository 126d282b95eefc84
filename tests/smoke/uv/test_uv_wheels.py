"""Which wheel uv picks among a project's platform wheels, and whether a compiled one really loads.

The session's index publishes tag-recording wheels (platform_wheels.py): for every arch one per glibc
level, a musllinux one, one per CPython ABI, and a pure fallback at a lower version. The expected choice
is computed here from facts read in the target (its arch, C library and glibc version, Python version),
not from uv.
"""

import json

import pytest
from packaging.version import Version

from platform_wheels import ONLY_MUSL, WHEEL_ARCHES, glibc_levels, native_platform, only_project

pytestmark = pytest.mark.needs_python

# Measured: uv 0.1.21 and older install the oldest manylinux level the target takes (2_17 over 2_36);
# from 0.1.22 on, the newest, as pip does.
PREFERS_NEWEST_GLIBC_SINCE = Version("0.1.22")

FACTS = """import json, os, struct, sys
try:
    glibc = os.confstr('CS_GNU_LIBC_VERSION')
except (OSError, ValueError):  # musl has no such name
    glibc = None
print(json.dumps({'glibc': glibc, 'python': list(sys.version_info[:2]), 'byteorder': sys.byteorder,
                  'bits': 8 * struct.calcsize('P')}))"""


@pytest.fixture
def venv(run_uv, workdir) -> str:
    path = f"{workdir}/.venv"
    run_uv("venv", path)
    return path


@pytest.fixture(scope="session")
def facts(target) -> dict:
    """Read once per target, from the interpreter every test's venv is made from.  (Session fixtures are set up
    before the function-scoped python gate: it says the same.)"""
    if not target.has_python:
        pytest.skip(target.without_python)
    return json.loads(target.run(["python3", "-c", FACTS]).check().stdout)


def _install(run_uv, venv, package_index, *requirements, options=()):
    return run_uv.attempt("pip", "install", "--index-url", package_index.http, *options, *requirements,
                          env={"VIRTUAL_ENV": venv})


def _landed(run_uv, venv, module: str) -> tuple[str, str]:
    out = run_uv.python(venv, f"import {module} as m; print(m.TAG, m.VERSION)").stdout.split()
    return out[0], out[1]


def _expected_platform(arch_target, facts, uv_version) -> str:
    if arch_target.libc == "musl":
        return f"musllinux_1_2_{arch_target.wheel_arch}"
    major, minor = (int(part) for part in facts["glibc"].split()[1].split(".")[:2])
    assert major == 2, facts
    reachable = [level for level in glibc_levels(arch_target.wheel_arch) if level <= minor]
    level = max(reachable) if uv_version >= PREFERS_NEWEST_GLIBC_SINCE else min(reachable)
    return f"manylinux_2_{level}_{arch_target.wheel_arch}"


def test_the_wheel_for_this_arch_libc_and_glibc_is_chosen(run_uv, venv, package_index, arch_target, facts,
                                                          uv_version):
    """Among manylinux_2_17 (riscv64: 2_31) ... 2_43 and 2_99 wheels for every arch, plus musllinux and a pure 1.0:
    the newest glibc level the target's glibc reaches, for its arch and libc."""
    result = _install(run_uv, venv, package_index, "archsmoke-plat")
    assert result.exit_code == 0, result.report()
    expected = f"py3-none-{_expected_platform(arch_target, facts, uv_version)}"
    assert _landed(run_uv, venv, "archsmoke_plat") == (expected, "2.0")


def test_the_wheel_for_this_pythons_abi_is_chosen(run_uv, venv, package_index, arch_target, facts):
    major, minor = facts["python"]
    result = _install(run_uv, venv, package_index, "archsmoke-abi")
    assert result.exit_code == 0, result.report()
    expected = f"cp{major}{minor}-cp{major}{minor}-{native_platform(arch_target.wheel_arch, arch_target.libc)}"
    assert _landed(run_uv, venv, "archsmoke_abi") == (expected, "1.0")


def test_without_a_wheel_this_target_can_take_uv_falls_back_to_an_older_pure_wheel(run_uv, venv, package_index):
    """archsmoke-fallback 2.0 has only manylinux_2_99 wheels and a sparc64 one: uv treats 2.0 as unusable
    here and installs 1.0's py3-none-any, as its resolver documents."""
    result = _install(run_uv, venv, package_index, "archsmoke-fallback")
    assert result.exit_code == 0, result.report()
    assert _landed(run_uv, venv, "archsmoke_fallback") == ("py3-none-any", "1.0")


def test_a_wheel_for_another_arch_offered_alone_is_refused(run_uv, venv, package_index, arch_target):
    other = next(arch for arch in WHEEL_ARCHES if arch != arch_target.wheel_arch)
    result = _install(run_uv, venv, package_index, only_project(other))
    assert result.exit_code != 0, result.report()
    said = result.stderr.lower()
    assert "platform" in said or "compatible" in said or "no wheels" in said, result.report()
    assert only_project(other) not in run_uv("pip", "freeze", env={"VIRTUAL_ENV": venv}).stdout


def test_a_wheel_for_the_other_c_library_alone_is_refused(run_uv, venv, package_index, arch_target):
    """musllinux wheels install on musl and are refused on glibc; a manylinux one for this very arch, the reverse."""
    musl_only = _install(run_uv, venv, package_index, ONLY_MUSL)
    glibc_only = _install(run_uv, venv, package_index, only_project(arch_target.wheel_arch))
    installs, refused = (musl_only, glibc_only) if arch_target.libc == "musl" else (glibc_only, musl_only)
    assert installs.exit_code == 0, installs.report()
    assert refused.exit_code != 0, refused.report()


@pytest.mark.uv_min("0.1.38", "--python-platform aarch64-manylinux_2_28")
def test_python_platform_installs_what_it_is_told(run_uv, venv, package_index):
    result = _install(run_uv, venv, package_index, "archsmoke-plat", options=["--python-platform", "aarch64-manylinux_2_28"])
    assert result.exit_code == 0, result.report()
    assert _landed(run_uv, venv, "archsmoke_plat") == ("py3-none-manylinux_2_28_aarch64", "2.0")


@pytest.mark.uv_min("0.1.38", "--python-platform aarch64-manylinux_2_28")
@pytest.mark.parametrize(("platform", "pinned"), [("aarch64-manylinux_2_28", "archsmoke-picky==2.0"),
                                                  ("x86_64-manylinux_2_28", "archsmoke-picky==1.0")])
def test_python_platform_compiles_for_what_it_is_told(target, run_uv, venv, workdir, package_index, platform, pinned):
    """archsmoke-picky 2.0 has an aarch64 wheel only: the resolution follows --python-platform, not the target."""
    target.run(["sh", "-c", f"echo archsmoke-picky > {workdir}/requirements.in"]).check()
    out = run_uv("pip", "compile", "requirements.in", "--index-url", package_index.http, "--python-platform", platform,
                 cwd=workdir, env={"VIRTUAL_ENV": venv}).stdout
    assert pinned in out.split(), out


def test_a_compiled_extension_wheel_loads_and_runs(run_uv, venv, package_index, native_wheels, arch_target, facts):
    """archsmoke-native ships one cp38-abi3 wheel per arch with a real shared library, cross-compiled on the
    host: the one uv picks must be this arch's, import, and compute in the target's byte order and width."""
    result = _install(run_uv, venv, package_index, "archsmoke-native")
    assert result.exit_code == 0, result.report()
    platform = native_platform(arch_target.wheel_arch, arch_target.libc)
    assert _landed(run_uv, venv, "archsmoke_native") == (f"cp38-abi3-{platform}", "1.0")
    probe = ("from archsmoke_native import _native as n; "
             "print(n.built_for(), n.byte_order(), n.pointer_bits(), n.triple(14))")
    assert run_uv.python(venv, probe).stdout.split() == [
        arch_target.wheel_arch, facts["byteorder"], str(facts["bits"]), "42"]
