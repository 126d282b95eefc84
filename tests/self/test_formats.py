"""The formats cross-built executables ship in (harness/binary/formats/), with real published builds: uv's in
cargo-dist's .tar.xz and goreleaser's .zip shapes, and clang-format's wheel, which keeps its executable as
package data behind a Python launcher."""

from __future__ import annotations

import re
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from archsmoke.binary import UV, prepare
from archsmoke.binary.product import Product
from archsmoke.origins import download_release
from archsmoke.cache import Cache
from archsmoke.errors import BinaryError

CLANG_FORMAT = Product("clang-format", executables=("clang-format",), project="clang-format")
CLANG_FORMAT_RELEASE = "20.1.7"
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def scratch_cache(tmp_path):
    return Cache(tmp_path / "cache")


def _tar_xz(release, tmp_path: Path) -> Path:
    """cargo-dist's layout: NAME-TRIPLE.tar.xz holding NAME-TRIPLE/NAME (and its other executables)."""
    triple = "powerpc64le-unknown-linux-gnu"
    archive = tmp_path / f"uv-{triple}.tar.xz"
    with tarfile.open(archive, "w:xz", preset=0) as tar:  # fast: the format matters here, not the ratio
        for executable in release("ppc64le").executables:
            tar.add(executable, arcname=f"uv-{triple}/{executable.name}")
    return archive


def _zip(release, tmp_path: Path, *extra: tuple[str, Path]) -> Path:
    """goreleaser's layout: NAME_VERSION_OS_ARCH.zip with the executables at the top, beside a README."""
    archive = tmp_path / "uv_0.13.9_linux_s390x.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as out:
        out.writestr("README.md", "uv\n")
        for executable in release("s390x").executables:
            out.write(executable, executable.name)
        for name, path in extra:
            out.write(path, name)
    return archive


def test_a_tar_xz_release_archive(release, tmp_path, scratch_cache):
    binary = prepare(_tar_xz(release, tmp_path), scratch_cache)
    assert binary.kind == "archive" and binary.main_for(UV).name == "uv"
    assert binary.elf.machine == "PPC64" and [p.name for p in binary.extras_for(UV)] == ["uvx"]


def test_a_zip_release_archive_is_not_taken_for_a_wheel(release, tmp_path, scratch_cache):
    binary = prepare(_zip(release, tmp_path), scratch_cache)
    assert binary.kind == "archive" and binary.names == ("uv", "uvx") and binary.elf.machine == "S390"


def test_an_archive_holding_two_executables_of_one_name_is_refused(release, tmp_path, scratch_cache):
    archive = _zip(release, tmp_path, ("bin/uv", release("s390x").executables[0]))
    with pytest.raises(BinaryError, match=r"has two executables named uv: uv and bin/uv"):
        prepare(archive, scratch_cache)


def test_a_damaged_tar_xz_is_a_clear_error(release, tmp_path, scratch_cache):
    archive = _tar_xz(release, tmp_path)
    archive.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    with pytest.raises(BinaryError, match="is not a readable tar archive"):
        prepare(archive, scratch_cache)


def test_the_suite_and_the_no_code_suite_run_from_a_tar_xz_and_a_zip(release, tmp_path, cache):
    for archive, arch in ((_tar_xz(release, tmp_path), "ppc64le"), (_zip(release, tmp_path), "s390x")):
        done = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--binary", str(archive),
                               "--arch", arch, "--runner", "qemu-user", "--cache-dir", str(cache.root),
                               str(REPO / "tests/smoke/uv/test_uv_version.py"), "--pyargs", "archsmoke.generic"],
                              cwd=REPO, capture_output=True, text=True, timeout=600)
        output = done.stdout + done.stderr
        # uv's version test, and the no-code suite's 5 checks (uv and uvx answer; its name's triple or Go words are
        # its label; a bare archive's version is not known, so that check is skipped)
        assert done.returncode == 0 and "5 passed, 1 skipped" in output, output[-3000:]


# --- a wheel that keeps its executable as package data -------------------------------------------------


@pytest.fixture(scope="module")
def clang_format(cache, catalog):
    """clang-format's published wheel for ppc64le, from the package index."""
    return download_release(CLANG_FORMAT, CLANG_FORMAT_RELEASE, catalog.get("ppc64le"), cache)


def test_a_package_data_executable_is_found_through_record_and_its_elf_header(clang_format):
    assert clang_format.kind == "wheel" and clang_format.names == ("clang-format",)
    assert dict(clang_format.package_data) == {"clang-format": "clang_format/data/bin/clang-format"}
    assert clang_format.elf.machine == "PPC64" and clang_format.version == CLANG_FORMAT_RELEASE


def test_a_wheel_with_no_elf_at_all_is_refused(tmp_path, scratch_cache):
    from toolwheels import make_wheel

    wheel = make_wheel(tmp_path, "notatool", "1.0", {"notatool": b"#!/bin/sh\necho hi\n"}, "manylinux_2_17_x86_64")
    with pytest.raises(BinaryError, match="is a wheel without native code"):
        prepare(wheel, scratch_cache)


CONFTEST = '''
import pytest
from archsmoke import Product

@pytest.fixture(scope="session")
def archsmoke_product():
    return Product("clang-format", executables=("clang-format",), project="clang-format")
'''

TESTS = r'''
def test_formats_a_c_file(target, installed_binary, target_tmp_path):
    source = f"{target_tmp_path}/messy.c"
    target.run(["sh", "-c", f"printf 'int main(){{return  0;}}\\n' > {source}"]).check()
    result = target.run(installed_binary.command("--style=LLVM", source), env=installed_binary.env).check()
    assert result.stdout == "int main() { return 0; }\n", result.report()


def test_the_launcher_users_run_is_what_runs(target, installed_binary):
    assert installed_binary.path.endswith("/venv/bin/clang-format")
    assert target.run(["head", "-c", "2", installed_binary.path]).stdout == "#!"  # pip's launcher
    assert installed_binary.real_executable().endswith("/site-packages/clang_format/data/bin/clang-format")
'''


def test_clang_format_formats_c_on_three_arches_and_passes_the_no_code_suite(tmp_path, cache):
    (tmp_path / "conftest.py").write_text(CONFTEST)
    (tmp_path / "test_clang_format.py").write_text(TESTS)
    done = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "test_clang_format.py",
                           "--pyargs", "archsmoke.generic", "--release", CLANG_FORMAT_RELEASE,
                           "--arch", "ppc64le,s390x,aarch64", "--runner", "qemu-user", "--cache-dir", str(cache.root)],
                          cwd=tmp_path, capture_output=True, text=True, timeout=1200)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-5000:]
    # 2 own tests + 5 no-code checks (the loader's finds libstdc++ in the glibc roots), on 3 arches; the import
    # tests skip: its wheel ships no native code Python loads, only the tool its users run
    assert "21 passed" in output, output[-3000:]


def test_a_package_data_wheel_without_a_launcher_for_it_is_refused_at_install(release, built, catalog, tmp_path,
                                                                              scratch_cache):
    from toolwheels import make_wheel

    from archsmoke.install import install
    from archsmoke.tiers.qemu_user import QemuUserRunner

    elf = release("x86_64").main_for(UV).read_bytes()
    wheel = make_wheel(tmp_path, "tool", "1.0", {}, "manylinux_2_17_x86_64",
                       package_files={"tool/__init__.py": b"", "tool/data/bin/tool": elf})
    binary = prepare(wheel, scratch_cache)
    assert dict(binary.package_data) == {"tool": "tool/data/bin/tool"}
    with QemuUserRunner(catalog.get("x86_64"), built("x86_64")) as runner:
        with pytest.raises(BinaryError, match=r"installs no `tool` command \(its executable is tool/data/bin/tool"):
            install(binary, Product("tool", executables=("tool",)), runner)


@pytest.mark.parametrize("name, arch", [("tool_1.2.3_linux_arm64.tar.gz", "aarch64"),
                                        ("uv-x86_64-unknown-linux-gnu.tar.xz", "x86_64"),
                                        ("esbuild-linux-s390x-0.25.5.tgz", "s390x")])
def test_a_release_named_for_another_arch_than_it_holds_fails_on_the_target_it_names(release, tmp_path, cache, name,
                                                                                   arch):
    """Each naming convention (Go's, a Rust triple, npm's), on uv's real ppc64le executables: the release's defect is
    a failed test on the target its name claims (exit 1), never bad input."""
    archive = tmp_path / name
    mode = "w:xz" if name.endswith(".xz") else "w:gz"
    with tarfile.open(archive, mode, **({"preset": 0} if mode == "w:xz" else {})) as tar:
        tar.add(release("ppc64le").main_for(UV), arcname="uv")
    done = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rA", "--binary",
                           str(archive), "--runner", "qemu-user", "--cache-dir", str(cache.root), "--pyargs",
                           "archsmoke.generic"], cwd=tmp_path, capture_output=True, text=True, timeout=600)
    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    assert f"FAILED test_label.py::test_the_build_is_what_its_label_says[{arch}]" in output
    assert re.search(rf"file name {re.escape(name)} \(\S+\) says {arch}, but its executables are PPC64 64-bit "
                     r"little-endian ELF", output), output
    assert f"is labelled for {arch}, but" in output and "Traceback" not in output


def test_a_release_named_for_its_own_arch_passes_the_check(release, tmp_path, scratch_cache):
    archive = tmp_path / "uv_0.13.9_linux_ppc64le.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(release("ppc64le").main_for(UV), arcname="uv")
    assert prepare(archive, scratch_cache).elf.machine == "PPC64"


def test_a_whl_that_is_no_zip_is_refused_not_taken_for_an_archive(release, tmp_path, scratch_cache):
    fake = tmp_path / "uv-0.13.9-py3-none-manylinux_2_17_x86_64.whl"
    with tarfile.open(fake, "w:gz") as tar:
        tar.add(release("x86_64").main_for(UV), arcname="uv")
    with pytest.raises(BinaryError, match=r"is named a wheel \(.whl\) but is not one: it starts with b'\\x1f\\x8b"):
        prepare(fake, scratch_cache)


def test_an_executable_with_a_zip_appended_named_zip_is_tested_as_the_zip_users_unpack(release, tmp_path,
                                                                                      scratch_cache):
    """A self-extracting file: users run `unzip`, so the executables in the zip are the build, not the stub."""
    stub = release("x86_64").main_for(UV).read_bytes()
    inner = _zip(release, tmp_path)  # s390x executables
    both = tmp_path / "uv_0.13.9_linux_s390x_selfextracting.zip"
    both.write_bytes(stub + inner.read_bytes())
    binary = prepare(both, scratch_cache)
    assert binary.kind == "archive" and binary.names == ("uv", "uvx") and binary.elf.machine == "S390"


def test_an_encrypted_member_is_a_clear_error(tmp_path, scratch_cache):
    archive = tmp_path / "tool_1.0_linux_arm64.zip"
    with zipfile.ZipFile(archive, "w") as out:
        out.writestr("tool", b"\x7fELF" + bytes(60))
    data = bytearray(archive.read_bytes())
    for header in (b"PK\x03\x04", b"PK\x01\x02"):  # set the encryption flag in the local and central headers
        at = data.find(header)
        flag_at = at + (6 if header == b"PK\x03\x04" else 8)
        data[flag_at] |= 1
    archive.write_bytes(bytes(data))
    with pytest.raises(BinaryError, match=r"cannot be read as a .zip archive: .*encrypted"):
        prepare(archive, scratch_cache)


def _linked_tar(release, tmp_path: Path, *links: tuple[str, str, bool]) -> Path:
    """uv's s390x executables in bin/, and links (name, target, hard) beside them, as busybox-style releases ship."""
    archive = tmp_path / "uv_0.13.9_linux_s390x.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for executable in release("s390x").executables:
            tar.add(executable, arcname=f"bin/{executable.name}")
        for name, target, hard in links:
            info = tarfile.TarInfo(name)
            info.type, info.linkname = (tarfile.LNKTYPE if hard else tarfile.SYMTYPE), target
            tar.addfile(info)
    return archive


def test_links_to_an_executable_are_executables_of_the_build(release, tmp_path, scratch_cache):
    """A symbolic and a hard link, a link to a link, and a link to something that is no executable."""
    archive = _linked_tar(release, tmp_path, ("bin/uv-alias", "uv", False), ("uvx-hard", "bin/uvx", True),
                          ("bin/alias-of-alias", "uv-alias", False), ("bin/readme", "../README", False),
                          ("sbin/uv", "../bin/uv", False))
    binary = prepare(archive, scratch_cache)
    assert binary.names == ("uv", "uvx", "uv-alias", "uvx-hard", "alias-of-alias"), binary.names
    assert (binary.executables[2].read_bytes() == binary.executables[0].read_bytes() and
            binary.executables[3].read_bytes() == binary.executables[1].read_bytes())


@pytest.mark.parametrize("target, hard", [("/usr/bin/uv", False), ("../../etc/passwd", False), ("../outside", True)],
                         ids=["absolute", "climbs-out", "hard-outside"])
def test_a_link_that_leaves_the_archive_is_refused(release, tmp_path, scratch_cache, target, hard):
    archive = _linked_tar(release, tmp_path, ("bin/escape", target, hard))
    with pytest.raises(BinaryError, match=rf"has a link bin/escape -> {re.escape(target)}, which leaves the archive"):
        prepare(archive, scratch_cache)


def test_a_symlink_in_a_zip_is_an_alias_too(release, tmp_path, scratch_cache):
    archive = _zip(release, tmp_path)
    with zipfile.ZipFile(archive, "a") as out:
        info = zipfile.ZipInfo("uv-alias")
        info.external_attr = (0o120777 << 16)
        info.create_system = 3  # unix, as zip -y writes it
        out.writestr(info, "uv")
    assert prepare(archive, scratch_cache).names == ("uv", "uvx", "uv-alias")
