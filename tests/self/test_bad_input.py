"""Bad input, end to end: a clear message naming the problem and the fix, a distinct exit code,
never a traceback and never a pass."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SMOKE = str(Path(__file__).parents[1] / "smoke" / "uv")
VMS = Path(__file__).parents[2] / "vms"


def _pytest(pytester, cache, *args):
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-rfE", "--cache-dir", str(cache.root), *args)
    output = result.stdout.str() + result.stderr.str()
    assert "Traceback" not in output, output
    assert " passed" not in output, output
    return result.ret, output


def _harness(*args):
    result = subprocess.run([sys.executable, "-m", "archsmoke", *args], capture_output=True, text=True, timeout=600)
    output = result.stdout + result.stderr
    assert "Traceback" not in output, output
    return result.returncode, output


def test_unknown_arch(pytester, cache):
    code, output = _pytest(pytester, cache, "--arch", "mips64", SMOKE)
    assert code == 4
    assert ("unknown arch 'mips64'; known arches: aarch64, aarch64-musl, armv7, armv7-musl, i386, ppc64le, "
            "ppc64le-musl, riscv64, riscv64-musl, s390x, s390x-musl, x86_64") in output


def test_a_file_that_is_not_a_binary(pytester, cache, tmp_path):
    notes = tmp_path / "uv"
    notes.write_text("#!/bin/sh\necho uv 0.13.9\n")
    code, output = _pytest(pytester, cache, "--arch", "ppc64le", "--binary", str(notes), SMOKE)
    assert code == 4 and "is none of an ELF executable, a wheel (*.whl), an npm package" in output


def test_a_wrong_arch_binary(pytester, cache, release):
    code, output = _pytest(pytester, cache, "--arch", "ppc64le", "--binary", str(release("s390x").file), SMOKE)
    assert code == 4
    assert "is a S390 64-bit big-endian ELF" in output and "target ppc64le runs PPC64 64-bit little-endian" in output
    assert "fix: pass the ppc64le build" in output


def test_binary_and_version_together(pytester, cache, release):
    code, output = _pytest(pytester, cache, "--binary", str(release("ppc64le").file), "--release", "0.13.9", SMOKE)
    assert code == 4 and "--binary and --release VERSION both given" in output


def test_a_version_that_does_not_exist(pytester, cache, loopback_index, release):
    loopback_index.publish([release("ppc64le").file])
    code, output = _pytest(pytester, cache, "--arch", "ppc64le", "--release", "9.9.9",
                           "--index-url", loopback_index.url, SMOKE)
    assert code == 5 and "uv 9.9.9 does not exist on the index" in output


def test_a_corrupt_download(pytester, cache, loopback_index, release, tmp_path):
    wheel = release("ppc64le").file
    loopback_index.publish([wheel], sha256={wheel.name: "f" * 64})
    code, output = _pytest(pytester, cache, "--arch", "ppc64le", "--release", "0.13.9",
                           "--cache-dir", str(tmp_path / "fresh"), "--index-url", loopback_index.url, SMOKE)
    assert code == 5 and "is corrupt: its sha256 is" in output


def test_an_unreachable_index(pytester, cache, tmp_path):
    code, output = _pytest(pytester, cache, "--arch", "ppc64le", "--release", "latest",
                           "--index-url", "http://127.0.0.1:9/simple", SMOKE)
    assert code == 5 and "cannot reach http://127.0.0.1:9/simple/uv/" in output


def test_invalid_yaml(pytester, cache, tmp_path):
    targets = tmp_path / "vms"
    shutil.copytree(VMS, targets)
    path = targets / "s390x.yaml"
    path.write_text(path.read_text().replace("libc: glibc", "libc: [glibc"))
    code, output = _pytest(pytester, cache, "--targets-dir", str(targets), "--arch", "s390x", SMOKE)
    assert code == 4 and f"{path}: invalid YAML at line" in output
    code, output = _harness("--targets-dir", str(targets), "doctor")
    assert code == 2 and f"{path}: invalid YAML at line" in output


def test_a_binary_that_runs_but_fails_is_a_failure(pytester, cache, built):
    # A real ppc64le executable of the right arch that exits non-zero: the smoke test must fail.
    code, output = _pytest(pytester, cache, "--arch", "ppc64le", "--binary",
                           str(built("ppc64le").root / "bin/false"), SMOKE)
    assert code == 1 and "exit code 1" in output
    assert "FAILED" in output and "test_uv_reports_its_version[ppc64le]" in output


def _target_without_emulator(tmp_path: Path, qemu_arch: str) -> Path:
    targets = tmp_path / "vms"
    targets.mkdir()
    text = (VMS / "ppc64le.yaml").read_text()
    for field, value in (("arch", "ghost"), ("qemu_arch", qemu_arch), ("aliases", "[]")):
        text = re.sub(rf"^{field}: .*$", f"{field}: {value}", text, flags=re.MULTILINE)
    (targets / "ghost.yaml").write_text(text)
    return targets


def test_missing_binfmt_handler(pytester, cache, tmp_path):
    targets = _target_without_emulator(tmp_path, "nonesuch")
    code, output = _harness("--targets-dir", str(targets), "doctor")
    assert code == 3
    assert "MISSING binfmt handler qemu-nonesuch" in output
    assert "fix: apt-get install qemu-user-static binfmt-support && update-binfmts --enable qemu-nonesuch" in output
    code, output = _pytest(pytester, cache, "--targets-dir", str(targets), "--arch", "ghost", SMOKE)
    assert code == 3 and "no binfmt_misc handler 'qemu-nonesuch' is registered" in output


def test_disabled_binfmt_handler(tmp_path):
    handler = Path("/proc/sys/fs/binfmt_misc/qemu-sh4")  # an emulator no archsmoke target uses
    if not handler.exists():
        pytest.fail("qemu-user-static's sh4 handler is not registered: install with the README command")
    targets = _target_without_emulator(tmp_path, "sh4")
    handler.write_text("0")
    try:
        code, output = _harness("--targets-dir", str(targets), "doctor")
    finally:
        handler.write_text("1")
    assert code == 3 and "the binfmt_misc handler 'qemu-sh4' is disabled" in output
    assert "fix: update-binfmts --enable qemu-sh4" in output


def test_cli_unknown_arch():
    code, output = _harness("images", "build", "sparc")
    assert code == 2 and "unknown arch 'sparc'" in output


def test_doctor_on_this_host():
    code, output = _harness("doctor")
    assert code == 0, output
    assert "ok      binfmt handler qemu-ppc64le" in output and "all checks passed" in output
    assert "ok      ppc64le VM: /usr/bin/qemu-system-ppc64 -M pseries,x-vof=on -cpu power8, firmware vof.bin" in output


def test_container_options_without_the_container_tier(pytester, cache):
    code, output = _pytest(pytester, cache, "--arch", "x86_64", "--engine", "podman", SMOKE)
    assert code == 4 and "--engine applies to the container tier only" in output
    code, output = _pytest(pytester, cache, "--arch", "x86_64", "--runner", "container", "--image-source", "hub", SMOKE)
    assert code == 4 and "unknown image source 'hub'" in output and "--image-source rootfs or pinned" in output
    code, output = _pytest(pytester, cache, "--arch", "x86_64", "--runner", "lxc", SMOKE)
    assert code == 4 and "unknown runner 'lxc'; available: container, qemu-user, ssh, vm" in output


def test_an_image_not_pinned_by_digest(pytester, cache, tmp_path):
    targets = tmp_path / "vms"
    targets.mkdir()
    text = (VMS / "ppc64le-musl.yaml").read_text()
    text = re.sub(r"ref: \S+", "ref: docker.io/library/python:3.11-alpine", text)
    (targets / "ppc64le-musl.yaml").write_text(text)
    code, output = _pytest(pytester, cache, "--targets-dir", str(targets), "--arch", "ppc64le-musl", SMOKE)
    assert code == 4
    assert "field 'image.ref' must be pinned by digest (name@sha256:<64 hex digits>), " \
           "got 'docker.io/library/python:3.11-alpine'" in output


def test_an_unknown_engine(pytester, cache):
    code, output = _pytest(pytester, cache, "--arch", "s390x-musl", "--runner", "container", "--engine", "lxc", SMOKE)
    assert "unknown container engine 'lxc'" in output and "--engine podman or --engine docker" in output
    assert code == 4


@pytest.fixture
def full_cache_dir(tmp_path):
    """A 5 MB tmpfs: too small for uv's wheel."""
    mount = tmp_path / "small"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=5m", "tmpfs", str(mount)], check=True)
    yield mount
    subprocess.run(["umount", str(mount)], check=True)


def test_a_full_cache_names_the_cache_and_the_fix(pytester, full_cache_dir):
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--cache-dir", str(full_cache_dir),
                                           "--arch", "x86_64", "--release", "0.13.9", SMOKE)
    output = result.stdout.str() + result.stderr.str()
    assert "Traceback" not in output and " passed" not in output, output
    assert result.ret == 4, output
    assert str(full_cache_dir) in output and "No space left on device" in output, output
    assert "choose another with --cache-dir" in output
    assert not [p for p in full_cache_dir.rglob("*") if p.is_file() and ".tmp-" in str(p)], "half-written entries"


def test_a_comma_in_tmpdir_is_named_with_its_fix(pytester, cache, tmp_path, monkeypatch):
    odd = tmp_path / "a,b"
    odd.mkdir()
    monkeypatch.setenv("TMPDIR", str(odd))
    code, output = _pytest(pytester, cache, "--arch", "s390x", "--release", "0.13.9", SMOKE)
    assert code == 4, output
    assert f"the session directory {odd}/" in output and "contains ',' or ':'" in output, output
    assert "use a --cache-dir and a TMPDIR without ',' and ':'" in output
    assert "harness doctor" not in output and not list(odd.iterdir()), "nothing left behind"


@pytest.mark.parametrize("meta", ["[]", '{"key": "KEY"}', '{"key": "KEY", "tree_digest": 5, "entries": "x"}'],
                         ids=["a-list", "no-fields", "wrong-types"])
def test_images_list_verify_and_prune_repair_entries_of_another_shape(tmp_path, meta):
    """The tools meant to repair a cache must not trip over what an older version (or damage) left in it."""
    key = "ppc64le-0123456789abcdef01234567"
    entry = tmp_path / "rootfs" / key
    (entry / "root").mkdir(parents=True)
    (entry / "entry.json").write_text(meta.replace("KEY", key))
    code, listed = _harness("--cache-dir", str(tmp_path), "images", "list")
    assert code == 0 and f"{key}" in listed and "DAMAGED" in listed, listed
    code, verified = _harness("--cache-dir", str(tmp_path), "images", "verify", "ppc64le")
    assert "Traceback" not in verified
    code, pruned = _harness("--cache-dir", str(tmp_path), "images", "prune")
    assert code == 0 and f"removing {key} (damaged" in pruned and not entry.exists(), pruned
