"""musl targets: roots without glibc (some with a musl CPython of their own, see test_musl_python.py), and binaries
refused or accepted by their C library."""

from pathlib import Path

import pytest

from archsmoke.binary import UV
from archsmoke.install import install
from archsmoke.errors import BinaryError
from archsmoke.tiers.qemu_user import QemuUserRunner

SMOKE_VERSION = Path(__file__).parents[1] / "smoke" / "uv" / "test_uv_version.py"


@pytest.mark.parametrize(("arch", "loader"), [("ppc64le-musl", "lib/ld-musl-powerpc64le.so.1"),
                                              ("s390x-musl", "lib/ld-musl-s390x.so.1"),
                                              ("aarch64-musl", "lib/ld-musl-aarch64.so.1"),
                                              ("armv7-musl", "lib/ld-musl-armhf.so.1")])
def test_musl_roots_have_musl_and_no_glibc(built, catalog, arch, loader):
    rootfs = built(arch)
    root = rootfs.root
    assert (root / loader).is_symlink() and (root / loader).resolve().is_file()
    assert not list(root.glob("lib*/ld-linux*")) and not list(root.glob("lib*/ld64.so*"))
    assert not list(root.glob("usr/lib/*/libc.so.6"))
    assert (root / "usr/bin/python3").exists() == catalog.get(arch).has_python  # only the musl CPython built here
    size = sum(p.stat().st_size for p in root.rglob("*") if p.is_file() and not p.is_symlink())
    limit = (8 << 20) + ((80 << 20) if catalog.get(arch).has_python else 0)
    assert size < limit, f"{arch} root is {size >> 20} MiB"
    with QemuUserRunner(catalog.get(arch), rootfs) as runner:
        assert runner.run("echo $0 runs; uname -m").check().stdout.split()[-1] in (arch.split("-")[0], "armv7l")


def test_a_static_build_runs_on_musl_and_glibc_roots(built, catalog, release):
    static = release("armv7-musl")  # uv's manylinux+musllinux armv7 wheel carries a static musl binary
    assert static.elf.libc == "static"
    for arch in ("armv7-musl", "armv7"):
        with QemuUserRunner(catalog.get(arch), built(arch)) as runner:
            installed = install(static, UV, runner)
            out = runner.run(installed.command("--version"), env=installed.env).check().stdout
            assert out.startswith("uv 0.13.9 (") and "armv7-unknown-linux-musleabihf" in out
            # without Python the wheel's binary goes onto PATH; with it, into a venv
            has_python = catalog.get(arch).has_python
            assert installed.bin_dir == ("/opt/archsmoke/uv/venv/bin" if has_python else "/usr/local/bin")


def test_a_glibc_build_is_refused_on_a_musl_root(built, catalog, release):
    glibc = release("ppc64le")
    assert glibc.elf.libc == "glibc"
    with QemuUserRunner(catalog.get("ppc64le-musl"), built("ppc64le-musl")) as runner:
        with pytest.raises(BinaryError, match="linked against glibc .* but target ppc64le-musl is a musl system"):
            install(glibc, UV, runner)


def test_a_release_without_a_musl_binary_skips_that_target(pytester, cache, release):
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-rs", "--cache-dir", str(cache.root),
                                           "--arch", "s390x-musl", "--release", "0.13.9", SMOKE_VERSION)
    output = result.stdout.str()
    # Skipped with the reason, and the run, having tested nothing, is not a pass (exit 5: nothing to download).
    assert result.ret == 5 and "1 skipped" in output, output
    assert "uv 0.13.9 has no wheel for platforms musllinux_1_1_s390x, musllinux_1_2_s390x" in output
    assert "nothing was tested: every test on a target was skipped (1 of them)" in output
