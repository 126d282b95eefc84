"""The smoke suite fails when uv or the index is broken: it can see a failure, it never passes one."""

import re
import shutil
import struct
import time
from pathlib import Path

import pytest

from archsmoke.binary import UV

SMOKE = Path(__file__).parents[1] / "smoke" / "uv"

CORRUPTING_CONFTEST = '''
import pytest

@pytest.fixture(scope="session")
def package_index(package_index):
    """The same index, but archsmoke-app's wheel is damaged after its sha256 was published."""
    wheel = next((package_index.index.root / "files").glob("archsmoke_app-*.whl"))
    data = bytearray(wheel.read_bytes())
    data[len(data) // 2] ^= 0xFF
    wheel.write_bytes(bytes(data))
    return package_index
'''


def _counts(output: str) -> dict[str, int]:
    return {word: int(n) for n, word in re.findall(r"(\d+) (passed|failed|error|errors|skipped)", output)}


def _run_broken_suite(pytester, cache, conftest: str, selection: str):
    """The uv suite's selected test, on x86_64 with uv 0.13.9, under a conftest that breaks one thing."""
    for helper in (SMOKE / "conftest.py", SMOKE / "demo_packages.py", SMOKE / "platform_wheels.py",
                   SMOKE / "tls_chains.py", SMOKE.parents[1] / "pkgindex.py"):
        shutil.copy(helper, pytester.path / helper.name)
    shutil.copytree(SMOKE / "native", pytester.path / "native")
    broken = pytester.path / "broken"
    broken.mkdir()
    (broken / "conftest.py").write_text(conftest)
    module = selection.split("::")[0]
    shutil.copy(SMOKE / module, broken / module)
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", "--cache-dir", str(cache.root),
                                         "--arch", "x86_64", "--release", "0.13.9", f"broken/{selection}", "-rf")


def test_an_index_serving_a_corrupt_wheel_fails_the_install_tests(pytester, cache):
    result = _run_broken_suite(pytester, cache, CORRUPTING_CONFTEST, "test_uv_pip.py::test_pip_install_over_http")
    output = result.stdout.str()
    assert result.ret == 1 and _counts(output) == {"failed": 1}, output
    # uv said which file was bad (a hash mismatch, or a broken archive, depending on where the byte fell)
    assert re.search(r"(hash|digest|extract).*\n?.*archsmoke_app|archsmoke_app.*(hash|digest|extract)", output, re.I | re.S)
    assert "command:" in output and "where:   x86_64 (qemu-user runner)" in output and "exit code" in output


BREAKING_CONFTESTS = {
    "no-intermediate-sent": ("test_uv_tls.py::test_pip_install_over_https_through_an_intermediate", '''
import dataclasses
import pytest

@pytest.fixture(scope="session")
def package_index(package_index):
    """The RSA chain's test id now reaches the server that does not send the intermediate."""
    name = "rsa2048-leaf-rsa-intermediate-rsa-root"
    broken = dataclasses.replace(package_index.https[name], url=package_index.https_without_intermediate.url)
    return dataclasses.replace(package_index, https={**package_index.https, name: broken})
''', {"failed": 1, "passed": 1}, r"UnknownIssuer|unknown issuer|certificate"),
    "no-wheel-for-this-arch": ("test_uv_wheels.py::test_the_wheel_for_this_arch_libc_and_glibc_is_chosen", '''
import pytest
from pkgindex import write_simple_pages

@pytest.fixture(scope="session")
def package_index(package_index):
    """archsmoke-plat 2.0 without this host's (x86_64) wheels: uv falls back to 1.0, which the test must refuse."""
    files = package_index.index.root / "files"
    for wheel in files.glob("archsmoke_plat-2.0-*x86_64.whl"):
        wheel.unlink()
    write_simple_pages(files, package_index.index.root / "simple")
    return package_index
''', {"failed": 1}, r"'py3-none-any' != 'py3-none-manylinux_2_\d+_x86_64'"),
}


@pytest.mark.parametrize("case", BREAKING_CONFTESTS)
def test_the_tls_and_wheel_choice_tests_fail_when_they_should(pytester, cache, case):
    """A chain served without its intermediate fails the chain test (only the other chain passes); an index
    without this arch's platform wheels fails the wheel-choice test, which names what landed instead."""
    selection, conftest, counts, said = BREAKING_CONFTESTS[case]
    result = _run_broken_suite(pytester, cache, conftest, selection)
    output = result.stdout.str()
    assert result.ret == 1 and _counts(output) == counts, output
    assert re.search(said, output), output


def _aarch64_program(path: Path, instruction: int) -> Path:
    """A static aarch64 executable of one instruction at its entry point (a few dozen bytes)."""
    code = struct.pack("<I", instruction)
    size = 64 + 56 + len(code)
    header = (b"\x7fELF" + bytes([2, 1, 1]) + bytes(9)
              + struct.pack("<HHIQQQIHHHHHH", 2, 183, 1, 0x400000 + 120, 64, 0, 0, 64, 56, 1, 0, 0, 0))
    segment = struct.pack("<IIQQQQQQ", 1, 5, 0, 0x400000, 0x400000, size, size, 0x1000)
    path.write_bytes(header + segment + code)
    path.chmod(0o755)
    return path


BRANCH_TO_ITSELF = 0x14000000  # `b .`: runs forever
UNDEFINED = 0x00000000  # `udf #0`: SIGILL


def _short_budget_targets(tmp_path: Path) -> Path:
    targets = tmp_path / "vms"
    shutil.copytree(SMOKE.parents[2] / "vms", targets)
    yaml = targets / "aarch64.yaml"
    yaml.write_text(yaml.read_text().replace("  command: 120", "  command: 5"))
    return targets


@pytest.mark.parametrize(("instruction", "reason"), [(BRANCH_TO_ITSELF, "hit its 5 s budget"),
                                                     (UNDEFINED, "was killed by signal 4 (SIGILL)")],
                         ids=["hangs", "crashes"])
def test_a_binary_that_cannot_run_fails_every_test_at_once(pytester, cache, tmp_path, instruction, reason):
    program = _aarch64_program(tmp_path / "uv", instruction)
    shutil.copytree(SMOKE, pytester.path / "smoke")
    shutil.copy(SMOKE.parents[1] / "pkgindex.py", pytester.path / "pkgindex.py")
    begun = time.monotonic()
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--cache-dir", str(cache.root),
                                           "--targets-dir", str(_short_budget_targets(tmp_path)),
                                           "--arch", "aarch64", "--binary", str(program), "smoke")
    seconds = time.monotonic() - begun
    output = result.stdout.str()
    counts = _counts(output)
    assert result.ret == 1 and counts.get("passed", 0) == 0, output
    assert counts.get("failed", 0) + counts.get("error", 0) + counts.get("errors", 0) >= 15, output
    assert "uv cannot run on aarch64 (qemu-user runner): its first command" in output and reason in output, output
    assert seconds < 25, f"took {seconds:.0f} s: more than one 5 s budget was spent"  # not one per test


def test_a_truncated_binary_is_refused_before_anything_runs(pytester, cache, release, tmp_path):
    # uv's real ppc64le binary, cut short: the right arch and a sound ELF header, but its segments are cut off.
    broken = tmp_path / "uv"
    broken.write_bytes(release("ppc64le").main_for(UV).read_bytes()[: 4 << 20])
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--cache-dir", str(cache.root),
                                           "--arch", "ppc64le", "--binary", str(broken), str(SMOKE))
    output = result.stdout.str() + result.stderr.str()
    assert result.ret == 4 and "is truncated: segment" in output and "Traceback" not in output, output
