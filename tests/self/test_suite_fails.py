"""The smoke suite fails when uv or the index is broken: it can see a failure, it never passes one."""

import re
import shutil
from pathlib import Path

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


def test_an_index_serving_a_corrupt_wheel_fails_the_install_tests(pytester, cache):
    for helper in (SMOKE / "conftest.py", SMOKE / "demo_packages.py", SMOKE.parents[1] / "pkgindex.py"):
        shutil.copy(helper, pytester.path / helper.name)
    corrupt = pytester.path / "corrupt"
    corrupt.mkdir()
    (corrupt / "conftest.py").write_text(CORRUPTING_CONFTEST)
    shutil.copy(SMOKE / "test_uv_pip.py", corrupt / "test_uv_pip.py")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--cache-dir", str(cache.root),
                                           "--arch", "x86_64", "--release", "0.13.9",
                                           "corrupt/test_uv_pip.py::test_pip_install_over_http", "-rf")
    output = result.stdout.str()
    assert result.ret == 1 and _counts(output) == {"failed": 1}, output
    # uv said which file was bad (a hash mismatch, or a broken archive, depending on where the byte fell)
    assert re.search(r"(hash|digest|extract).*\n?.*archsmoke_app|archsmoke_app.*(hash|digest|extract)", output, re.I | re.S)
    assert "command:" in output and "where:   x86_64 (qemu-user runner)" in output and "exit code" in output


def test_a_binary_that_crashes_fails_every_test(pytester, cache, release, tmp_path):
    # uv's real ppc64le binary, cut short: the right arch and a sound ELF header, but it cannot run.
    broken = tmp_path / "uv"
    broken.write_bytes(release("ppc64le").main_for(UV).read_bytes()[: 4 << 20])
    broken.chmod(0o755)
    shutil.copytree(SMOKE, pytester.path / "smoke")
    shutil.copy(SMOKE.parents[1] / "pkgindex.py", pytester.path / "pkgindex.py")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--cache-dir", str(cache.root),
                                           "--arch", "ppc64le", "--binary", str(broken), "smoke")
    output = result.stdout.str()
    counts = _counts(output)
    assert result.ret == 1, output
    assert counts.get("passed", 0) == 0, output
    assert counts.get("failed", 0) + counts.get("error", 0) + counts.get("errors", 0) >= 10, output
