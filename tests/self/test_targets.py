"""Target definitions: every shipped file loads, and every kind of mistake is named precisely."""

import re
from pathlib import Path

import pytest

from archsmoke.errors import ConfigError
from archsmoke.targets import load_target, parse_target
from archsmoke.tiers import load_catalog, sections
from archsmoke.tiers.container.spec import pinned_image

SHIPPED = sorted((Path(__file__).parents[2] / "vms").glob("*.yaml"))
VALID = (Path(__file__).parents[2] / "vms" / "ppc64le.yaml").read_text()
# The ELF identity follows from debian_arch; a file may still state it (then every field must agree).
STATED_ELF = "elf:\n  machine: PPC64\n  class: 64\n  endian: little\n"


def test_every_shipped_target_loads():
    catalog = load_catalog()
    assert set(catalog.names) == {"ppc64le", "s390x", "aarch64", "armv7", "riscv64", "i386", "x86_64",
                                  "ppc64le-musl", "s390x-musl", "aarch64-musl", "armv7-musl", "riscv64-musl"}
    assert {t.name for t in catalog.targets.values() if t.libc == "musl"} == {
        "ppc64le-musl", "s390x-musl", "aarch64-musl", "armv7-musl", "riscv64-musl"}
    assert all(t.has_python for t in catalog.targets.values())  # the musl roots' own CPython (rootfs.python)
    ppc = catalog.get("ppc64le")
    assert (ppc.debian_arch, ppc.qemu_arch, ppc.elf.machine, ppc.elf.endian) == ("ppc64el", "ppc64le", "PPC64", "little")
    assert ppc.page_size == 65536 and ppc.cpu == "power8"
    assert {"python3", "python3-venv"} <= set(ppc.rootfs.packages)
    assert catalog.get("s390x").elf.endian == "big"
    # x86_64 runs natively; its qemu_arch names the emulator of its CPU floor (the binary under test only).
    x86 = catalog.get("x86_64")
    assert x86.runs_natively and (x86.qemu_arch, x86.cpu) == ("x86_64", "qemu64")


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_shipped_files_name_their_arch(path):
    assert load_target(path, sections()).name == path.stem


def test_aliases_and_selection():
    catalog = load_catalog()
    assert catalog.get("ppc64el").name == "ppc64le"
    assert catalog.get("arm64").name == "aarch64"
    assert [t.name for t in catalog.select(["s390x,ppc64el", "s390x"])] == ["s390x", "ppc64le"]
    assert len(catalog.select(["all"])) == len(catalog.names)


def test_unknown_arch_lists_the_known_ones():
    with pytest.raises(ConfigError) as caught:
        load_catalog().get("mips")
    message = str(caught.value)
    assert "unknown arch 'mips'" in message
    for name in ("aarch64", "armv7", "i386", "ppc64le", "s390x", "x86_64"):
        assert name in message


def _error(text: str, name: str = "ppc64le.yaml") -> str:
    with pytest.raises(ConfigError) as caught:
        parse_target(Path("vms") / name, text, sections())
    return str(caught.value)


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("  endian: little\n", "  endian: middle\n", "field 'elf.endian' must be one of little, big, got 'middle'"),
        ("  endian: little\n", "  endian: big\n", "field 'elf.endian' says big, but debian_arch ppc64el is little"),
        ("page_size: 65536", "page_size: 65535", "field 'page_size' must be a power of two in bytes, got 65535"),
        ("page_size: 65536", "page_size: big", "field 'page_size' must be a number, got a string 'big'"),
        ("debian_arch: ppc64el\n", "", "field 'debian_arch' is missing"),
        ("libc: glibc", "libc: bionic", "field 'libc' must be one of glibc, musl, got 'bionic'"),
        ("  class: 64", "  class: 48", "field 'elf.class' must be one of 32, 64, got 48"),
        ("  machine: PPC64", "  machine: VAX", "field 'elf.machine' must be one of"),
        ("  command: 120", "  command: -1", "field 'timeouts.command' must be a positive number up to 86400, got -1"),
        ("  command: 120", "  command: true", "field 'timeouts.command' must be a number, got a boolean True"),
        ("    - python3-venv\n", "    - 7\n", "field 'rootfs.packages' must be a list of non-empty strings"),
        ("libc: glibc", "libc: glibc\nlibcc: musl", "field 'libcc' is not a known field"),
        ("arch: ppc64le", "arch: ppc64", "field 'arch' must match the file name 'ppc64le', got 'ppc64'"),
        ("  packages:\n", "  apt_options: Acquire::Check-Valid-Until false\n  packages:\n",
         "field 'rootfs.apt_options' must be a list, got a string"),
        ("  machine: PPC64", "  machine: S390", "field 'elf.machine' says S390, but debian_arch ppc64el is PPC64"),
        ("  class: 64", "  class: 32", "field 'elf.class' says 32, but debian_arch ppc64el is 64"),
        ("  class: 64", "  bits: 64", "field 'elf.bits' is not a known field"),
    ],
    ids=["enum", "endian-of-another-arch", "page-size", "type", "missing", "libc", "elf-class", "machine", "negative", "bool", "list", "unknown",
         "name", "apt-options", "machine-of-another-arch", "class-of-another-arch", "unknown-elf-field"],
)
def test_each_mistake_names_file_field_and_allowed_values(old, new, expected):
    text = VALID + STATED_ELF
    assert old in text
    message = _error(text.replace(old, new))
    assert message.startswith("vms/ppc64le.yaml: ")
    assert expected in message
    assert "fix:" in message


def test_invalid_yaml_reports_the_line():
    message = _error(VALID.replace("libc: glibc", "libc: [glibc"))
    assert "vms/ppc64le.yaml: invalid YAML at line" in message


def test_a_file_that_is_not_a_mapping():
    assert "the file must be a mapping of fields, got a list" in _error("- arch: ppc64le\n")


def test_empty_targets_dir(tmp_path):
    with pytest.raises(ConfigError, match="no target definitions"):
        load_catalog(tmp_path)


def test_duplicate_alias(tmp_path):
    (tmp_path / "ppc64le.yaml").write_text(VALID)
    (tmp_path / "other.yaml").write_text(VALID.replace("arch: ppc64le", "arch: other"))
    with pytest.raises(ConfigError, match="alias 'ppc64el' is also used by"):
        load_catalog(tmp_path)


def test_container_platforms_and_pinned_images(catalog):
    assert {t.name: t.platform_name for t in catalog.targets.values() if not t.name.endswith("-musl")} == {
        "ppc64le": "linux/ppc64le", "s390x": "linux/s390x", "aarch64": "linux/arm64", "armv7": "linux/arm/v7",
        "riscv64": "linux/riscv64", "i386": "linux/386", "x86_64": "linux/amd64"}
    for name in ("ppc64le-musl", "s390x-musl", "aarch64-musl", "armv7-musl"):
        image = pinned_image(catalog.get(name))
        assert image is not None and image.has_python
        assert image.ref.startswith("docker.io/library/python@sha256:") and len(image.digest) == len("sha256:") + 64
    digests = [pinned_image(catalog.get(n)).digest for n in ("ppc64le-musl", "s390x-musl", "aarch64-musl", "armv7-musl")]
    assert len(set(digests)) == 4, "each platform pins its own manifest, not one shared index"


def test_libc_picks_each_arch_of_that_libc(catalog):
    from archsmoke.errors import ConfigError
    from archsmoke.plugin.session import Archsmoke, Options

    def chosen(**options):
        return [t.name for t in Archsmoke(Options(**options)).targets]

    assert chosen(arches=["ppc64le,s390x"], libc="musl") == ["ppc64le-musl", "s390x-musl"]
    assert chosen(arches=["ppc64le-musl"], libc="glibc") == ["ppc64le"]
    assert chosen(libc="musl") == ["aarch64-musl", "armv7-musl", "ppc64le-musl", "riscv64-musl", "s390x-musl"]
    with pytest.raises(ConfigError, match="no musl target for i386; musl targets: aarch64-musl, armv7-musl, "
                                          "ppc64le-musl, riscv64-musl, s390x-musl"):
        chosen(arches=["i386"], libc="musl")
    with pytest.raises(ConfigError, match="unknown libc 'uclibc'"):
        chosen(arches=["armv7"], libc="uclibc")


def test_riscv64_comes_from_an_unreleased_suite_and_says_so(catalog):
    riscv = catalog.get("riscv64")
    assert (riscv.debian_arch, riscv.elf.machine, riscv.triple) == ("riscv64", "RISCV", "riscv64gc-unknown-linux-gnu")
    assert riscv.rootfs.suite == "sid" and riscv.rootfs.unreleased
    assert riscv.rootfs.apt_options == ('Acquire::Check-Valid-Until "false"',)
    assert not catalog.get("ppc64le").rootfs.unreleased and catalog.get("ppc64le").rootfs.apt_options == ()
    assert catalog.get("riscv64-musl").rootfs.suite == "sid"


def test_apt_options_are_part_of_the_root_filesystems_key(catalog):
    from dataclasses import replace

    from archsmoke.rootfs.build import recipe

    riscv = catalog.get("riscv64")
    without = replace(riscv, rootfs=replace(riscv.rootfs, apt_options=()))
    assert recipe(riscv)["apt_options"] == ['Acquire::Check-Valid-Until "false"']
    assert "apt_options" not in recipe(without)
    assert "apt_options" not in recipe(catalog.get("ppc64le")), "targets without options keep their cache keys"


def test_without_arch_every_emulated_glibc_target_runs_and_help_names_them(catalog):
    from archsmoke.plugin import options

    names = [t.name for t in catalog.default()]
    assert sorted(names) == ["aarch64", "armv7", "ppc64le", "riscv64", "s390x"]
    listed = re.search(r"else every emulated glibc target \(([^)]*)\)", Path(options.__file__).read_text())
    assert listed and sorted(listed.group(1).split(", ")) == sorted(names)


def test_glibc_roots_hold_what_manylinux_wheels_may_assume(catalog):
    from archsmoke.targets.catalog import MANYLINUX_PACKAGES

    for target in catalog.targets.values():
        held = set(MANYLINUX_PACKAGES) <= set(target.rootfs.packages)
        assert held == (target.libc == "glibc"), target.name


def test_the_elf_identity_follows_from_the_arch_stated_or_not():
    stated, derived = (parse_target(Path("vms/ppc64le.yaml"), text, sections()) for text in (VALID + STATED_ELF, VALID))
    assert stated.elf == derived.elf and (derived.elf.machine, derived.elf.bits, derived.elf.endian) == \
        ("PPC64", 64, "little")
    catalog = load_catalog()
    assert (catalog.get("s390x").elf.endian, catalog.get("armv7").elf.bits, catalog.get("i386").elf.bits) == \
        ("big", 32, 32)
