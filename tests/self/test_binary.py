"""The binary under test in each of its forms, checked and installed into real targets."""

import io
import shutil
import subprocess
import sys
import tarfile
import zipfile
from types import SimpleNamespace

import pytest

from archsmoke.binary import UV, matching, prepare
from archsmoke.install import check_loader, install, wheel_glibc_floor
from archsmoke.rootfs import resolve_in_root
from archsmoke.cache import Cache
from archsmoke.errors import BinaryError, TargetError
from archsmoke.tiers.qemu_user import QemuUserRunner


@pytest.fixture(scope="module")
def ppc64le_target(built, catalog):
    with QemuUserRunner(catalog.get("ppc64le"), built("ppc64le")) as runner:
        yield runner


@pytest.fixture
def scratch_cache(tmp_path):
    return Cache(tmp_path / "cache")


def _release_archive(release, tmp_path, arch="ppc64le", triple="powerpc64le-unknown-linux-gnu"):
    """uv's release archive layout: uv-<triple>/uv and uv-<triple>/uvx."""
    wheel = release(arch)
    archive = tmp_path / f"uv-{triple}.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for executable in wheel.executables:
            tar.add(executable, arcname=f"uv-{triple}/{executable.name}")
    return archive


def test_wheel(release):
    wheel = release("ppc64le")
    assert wheel.kind == "wheel" and wheel.version == "0.13.9"
    assert wheel.elf.machine == "PPC64" and wheel.elf.interpreter == "/lib64/ld64.so.2"
    assert [p.name for p in wheel.extras_for(UV)] == ["uvx"]
    assert len(wheel.sha256) == 64


def test_release_archive(release, tmp_path, scratch_cache):
    binary = prepare(_release_archive(release, tmp_path), scratch_cache)
    assert binary.kind == "archive" and binary.main_for(UV).name == "uv"
    assert binary.elf.machine == "PPC64" and [p.name for p in binary.extras_for(UV)] == ["uvx"]


def test_bare_executable(release, scratch_cache):
    binary = prepare(release("s390x").main_for(UV), scratch_cache)
    assert binary.kind == "executable" and binary.version is None and binary.elf.endian == "big"


def test_a_file_that_is_no_binary(tmp_path, scratch_cache):
    text = tmp_path / "notes.txt"
    text.write_text("uv 0.13.9\n")
    with pytest.raises(BinaryError, match=r"is none of an ELF executable, a wheel \(\*\.whl\), an npm package .*, a release archive"):
        prepare(text, scratch_cache)
    with pytest.raises(BinaryError, match="does not exist"):
        prepare(tmp_path / "missing", scratch_cache)


def test_a_corrupt_wheel_is_refused(release, tmp_path, scratch_cache):
    damaged = tmp_path / release("ppc64le").file.name
    data = bytearray(release("ppc64le").file.read_bytes())
    with zipfile.ZipFile(release("ppc64le").file) as wheel:
        member = next(i for i in wheel.infolist() if i.filename.endswith("/scripts/uv"))
    middle = member.header_offset + member.compress_size // 2
    data[middle] ^= 0xFF
    damaged.write_bytes(bytes(data))
    with pytest.raises(BinaryError, match="is not a valid wheel"):
        prepare(damaged, scratch_cache)


def test_a_wheel_whose_binary_does_not_match_its_record(release, tmp_path, scratch_cache):
    original = release("ppc64le").file
    tampered = tmp_path / original.name
    with zipfile.ZipFile(original) as source, zipfile.ZipFile(tampered, "w") as out:
        for info in source.infolist():
            data = source.read(info.filename)
            out.writestr(info, data + b"\0" if info.filename.endswith("/scripts/uv") else data)
    with pytest.raises(BinaryError, match="does not match the hash in its RECORD"):
        prepare(tampered, scratch_cache)


def test_a_truncated_archive_is_refused(release, tmp_path, scratch_cache):
    archive = _release_archive(release, tmp_path)
    archive.write_bytes(archive.read_bytes()[:4096])
    with pytest.raises(BinaryError, match="not a readable tar archive"):
        prepare(archive, scratch_cache)


def test_each_target_takes_its_own_binary(release, catalog):
    given = [release("s390x"), release("ppc64le")]
    assert matching(given, UV, catalog.get("ppc64le")) is given[1]
    with pytest.raises(BinaryError, match="none of the uv builds given runs on armv7"):
        matching(given, UV, catalog.get("armv7"))
    with pytest.raises(BinaryError, match="target armv7 runs ARM 32-bit little-endian binaries"):
        matching(given[:1], UV, catalog.get("armv7"))


def test_loader_lookup_follows_symlinks_inside_the_root(built):
    root = built("ppc64le").root
    assert (root / "lib64/ld64.so.2").is_symlink()
    resolved = resolve_in_root(root, "/lib64/ld64.so.2")
    assert resolved.is_file() and str(resolved).startswith(str(root))


def test_a_missing_loader_is_refused(release, ppc64le_target, tmp_path, scratch_cache):
    copy = tmp_path / "uv"
    shutil.copy(release("ppc64le").main_for(UV), copy)
    subprocess.run(["patchelf", "--set-interpreter", "/lib64/ld-missing.so.9", str(copy)], check=True)
    binary = prepare(copy, scratch_cache)
    with pytest.raises(BinaryError, match=r"needs the dynamic loader /lib64/ld-missing.so.9, which no glibc system of "
                                          r"this arch has: ppc64le's is /lib64/ld64.so.2"):
        check_loader(binary, ppc64le_target)


def test_a_root_without_the_abis_loader_is_the_roots_fault_not_the_builds(release, catalog, scratch_cache):
    """The loader path every ppc64le glibc program asks for, missing from a root: archsmoke's fault (the
    riscv64-musl root once lacked /lib after Debian's /usr merge), so that target errors, naming it.  Every real
    root has its loader (test_every_target.py); here a root that lacks every file stands in."""
    binary = prepare(release("ppc64le").main_for(UV), scratch_cache)
    empty_root = SimpleNamespace(target=catalog.get("ppc64le"), file_exists=lambda path: False)
    with pytest.raises(TargetError, match=r"the ppc64le root has no /lib64/ld64.so.2, where glibc programs of "
                                          r"this arch find their dynamic loader: the root is incomplete"):
        check_loader(binary, empty_root)


def test_wheel_installs_into_a_venv_by_the_targets_pip(ppc64le_target, release):
    installed = install(release("ppc64le"), UV, ppc64le_target)
    assert installed.path == "/opt/archsmoke/uv/venv/bin/uv"
    out = ppc64le_target.run(installed.command("--version"), env=installed.env).check().stdout
    assert out.startswith("uv 0.13.9")
    shim = ppc64le_target.run(["/opt/archsmoke/uv/venv/bin/python", "-m", "uv", "--version"]).check().stdout
    assert shim == out
    listed = ppc64le_target.run(["/opt/archsmoke/uv/venv/bin/python", "-m", "pip", "--version"])
    assert listed.exit_code != 0, "the venv was made --without-pip"


def test_archive_installs_onto_path(ppc64le_target, release, tmp_path, scratch_cache):
    installed = install(prepare(_release_archive(release, tmp_path), scratch_cache), UV, ppc64le_target)
    assert installed.path == "/usr/local/bin/uv"
    assert ppc64le_target.run("uv --version && uvx --version").check().stdout.count("0.13.9") == 2


def test_install_refuses_a_wrong_arch_binary(ppc64le_target, release):
    with pytest.raises(BinaryError, match="target ppc64le runs PPC64"):
        install(release("s390x"), UV, ppc64le_target)


RUFF_VERSION = "0.15.11"


def test_any_products_builds_install_under_their_own_names(catalog, cache, tmp_path, built):
    """ruff's wheel, bare executable and release archive: unpacked, matched and installed as ruff, never as uv."""
    from archsmoke.binary import RUFF
    from archsmoke.origins import download_release
    from archsmoke.errors import NoBinaryForTarget

    target = catalog.get("x86_64")
    wheel = download_release(RUFF, RUFF_VERSION, target, cache)
    assert wheel.kind == "wheel" and wheel.names == ("ruff",) and wheel.version == RUFF_VERSION
    bare = tmp_path / "ruff"
    shutil.copy(wheel.main_for(RUFF), bare)
    archive = tmp_path / "ruff-x86_64-unknown-linux-gnu.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(bare, arcname="ruff-x86_64-unknown-linux-gnu/ruff")
    builds = [wheel, prepare(bare, cache), prepare(archive, cache)]
    assert [b.kind for b in builds] == ["wheel", "executable", "archive"]
    with pytest.raises(NoBinaryForTarget, match="no uv build among the --binary files given"):
        matching(builds[1:2], UV, target)  # a bare `ruff` is never installed as uv
    with QemuUserRunner(target, built("x86_64")) as runner:
        for build, where in zip(builds, ("/opt/archsmoke/ruff/venv/bin", "/usr/local/bin", "/usr/local/bin")):
            installed = install(matching([build], RUFF, target), RUFF, runner)
            assert installed.path == f"{where}/ruff"
            said = runner.run(installed.command("--version"), env=installed.env).check().stdout
            assert RUFF.parse_version(said).version == RUFF_VERSION
        assert not runner.file_exists("/usr/local/bin/uv")


def test_two_builds_of_one_product_for_one_target_are_refused(release, catalog, tmp_path):
    copy = tmp_path / "uv-0.13.9-py3-none-manylinux_2_17_ppc64le.manylinux2014_ppc64le.whl"
    shutil.copy(release("ppc64le").file, copy)
    given = [release("ppc64le"), prepare(copy, Cache(tmp_path / "c"))]
    with pytest.raises(BinaryError, match="two --binary builds of uv run on ppc64le"):
        matching(given, UV, catalog.get("ppc64le"))


def test_a_binary_needing_a_newer_glibc_than_the_root_is_refused(built, catalog, tmp_path, scratch_cache):
    """The x86_64 root's own `true`, with its GLIBC_2.34 reference raised to 2.99 (same length, as a newer
    toolchain would have written it): refused before it runs, both versions named."""
    newer = tmp_path / "true"
    data = (built("x86_64").root / "bin/true").read_bytes()
    assert b"GLIBC_2.34" in data
    newer.write_bytes(data.replace(b"GLIBC_2.34", b"GLIBC_2.99"))
    newer.chmod(0o755)
    binary = prepare(newer, scratch_cache)
    assert binary.elf.glibc_needed == (2, 99)
    product = UV.__class__("true", executables=("true",))
    with QemuUserRunner(catalog.get("x86_64"), built("x86_64")) as runner:
        with pytest.raises(BinaryError, match=r"needs glibc 2\.99 \(it references GLIBC_2\.99\), but the x86_64 "
                                              r"root has glibc 2\.36 \(/lib/x86_64-linux-gnu/libc\.so\.6\)"):
            install(binary, product, runner)
        assert install(prepare(built("x86_64").root / "bin/true", scratch_cache), product, runner).path


@pytest.mark.parametrize(("name", "floor"), [
    ("uv-0.13.9-py3-none-manylinux_2_31_riscv64.musllinux_1_1_riscv64.whl", ((2, 31), "manylinux_2_31_riscv64")),
    ("uv-0.13.9-py3-none-manylinux_2_17_ppc64le.manylinux2014_ppc64le.whl", ((2, 17), "manylinux_2_17_ppc64le")),
    ("x-1-py3-none-manylinux2010_x86_64.manylinux_2_28_x86_64.whl", ((2, 12), "manylinux2010_x86_64")),
    ("x-1-py3-none-manylinux1_i686.whl", ((2, 5), "manylinux1_i686")),
    ("uv-0.13.9-py3-none-musllinux_1_1_x86_64.whl", None),
    ("uv-x86_64-unknown-linux-gnu.tar.gz", None),
])
def test_a_wheels_glibc_floor_is_its_lowest_manylinux_tag(name, floor):
    assert wheel_glibc_floor(name) == floor


def test_a_wheel_tagged_for_a_newer_glibc_than_the_root_is_refused(built, catalog, release, tmp_path, scratch_cache):
    """The root's pip would refuse the wheel anyway ("not a supported wheel on this platform"): refused before,
    naming the tag and the root's glibc."""
    newer = tmp_path / "uv-0.13.9-py3-none-manylinux_2_39_x86_64.whl"
    shutil.copy(release("x86_64").file, newer)
    with QemuUserRunner(catalog.get("x86_64"), built("x86_64")) as runner:
        with pytest.raises(BinaryError, match=r"needs glibc 2\.39 \(its wheel is tagged manylinux_2_39_x86_64\), "
                                              r"but the x86_64 root has glibc 2\.36"):
            install(prepare(newer, scratch_cache), UV, runner)
        assert install(release("x86_64"), UV, runner).path == "/opt/archsmoke/uv/venv/bin/uv"


def _archive_of(tmp_path, members: list[tuple[str, bytes]]):
    archive = tmp_path / "tool-powerpc64le-unknown-linux-gnu.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return archive


@pytest.mark.parametrize("name", ["..", ".", "tool/.."])
def test_an_archive_member_that_names_no_file_is_refused(release, tmp_path, scratch_cache, name):
    elf = release("ppc64le").main_for(UV).read_bytes()[:4096]
    archive = _archive_of(tmp_path, [(name, elf)])
    with pytest.raises(BinaryError, match=r"has a member named .*which is not a file name"):
        prepare(archive, scratch_cache)


def test_two_archive_members_of_one_name_are_refused_naming_both(release, tmp_path, scratch_cache):
    elf = release("ppc64le").main_for(UV).read_bytes()
    archive = _archive_of(tmp_path, [("a/uv", elf), ("b/uv", elf)])
    with pytest.raises(BinaryError, match="has two executables named uv: a/uv and b/uv"):
        prepare(archive, scratch_cache)


@pytest.mark.parametrize("meta", ["[]", '{"key": "KEY"}', '{"key": "KEY", "files": "uv", "order": ["uv"]}',
                                  '{"key": "KEY", "files": {"uv": "x"}, "order": "uv"}'],
                         ids=["a-list", "no-files-no-order", "files-a-string", "order-a-string"])
def test_an_unpacked_entry_of_another_shape_is_rebuilt(release, tmp_path, scratch_cache, meta):
    archive = _release_archive(release, tmp_path)
    first = prepare(archive, scratch_cache)
    entry = first.executables[0].parent
    (entry / "entry.json").write_text(meta.replace("KEY", entry.name))
    again = prepare(archive, scratch_cache)
    assert again.executables == first.executables and again.executables[0].read_bytes() == \
        first.executables[0].read_bytes()
    assert '"order"' in (entry / "entry.json").read_text()


def test_a_wheel_member_is_streamed_not_read_whole(tmp_path, scratch_cache):
    """A 200 MB executable in a wheel unpacks in bounded memory (the old code read members whole)."""
    import base64
    import hashlib

    body = b"\x7fELF" + bytes(200 * 1024 * 1024)
    digest = base64.urlsafe_b64encode(hashlib.sha256(body).digest()).rstrip(b"=").decode()
    wheel = tmp_path / "tool-1.0-py3-none-manylinux_2_17_x86_64.whl"
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as out:
        out.writestr("tool-1.0.data/scripts/tool", body)
        out.writestr("tool-1.0.dist-info/RECORD", f"tool-1.0.data/scripts/tool,sha256={digest},{len(body)}\n")
    del body
    # VmHWM, not ru_maxrss: Linux carries a forked parent's peak across exec into ru_maxrss.
    script = (f"import re\nfrom pathlib import Path\nfrom archsmoke.cache import Cache\n"
              f"from archsmoke.binary.unpack import _unpacked\nfrom archsmoke.binary.formats import wheel\n"
              f"_unpacked(Path({str(wheel)!r}), 'k', Cache(Path({str(tmp_path / 'c')!r})), wheel)\n"
              f"print(re.search(r'VmHWM:\\s+(\\d+)', Path('/proc/self/status').read_text()).group(1))\n")
    peak_kib = int(subprocess.run([sys.executable, "-c", script], check=True, capture_output=True, text=True).stdout)
    assert peak_kib < 120 * 1024, f"unpacking took {peak_kib // 1024} MiB of memory for a 200 MiB member"
