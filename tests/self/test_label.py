"""What a build's label says (harness/binary/label.py), and each contradiction of it, on builds described
directly: the ELF facts a real file would give, the names real releases carry."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from archsmoke.binary import BinaryUnderTest, ElfInfo
from archsmoke.binary.label import claims_of, contradictions, covers
from archsmoke.binary.match import targets_for

AARCH64, X86_64, PPC64, S390 = 183, 62, 21, 22
GLIBC_LOADER, MUSL_LOADER = "/lib/ld-linux-aarch64.so.1", "/lib/ld-musl-aarch64.so.1"


def build(name: str, machine: int = AARCH64, loader: str | None = GLIBC_LOADER, glibc=(2, 17), needed=("libc.so.6",),
          kind: str = "wheel", project: str | None = None, endian: str = "little") -> BinaryUnderTest:
    elf = ElfInfo(Path("/nonexistent") / "tool", 64, endian, machine, loader,
                  glibc if loader and "musl" not in loader else None, needed)
    return BinaryUnderTest(kind=kind, origin=name, file=Path("/nonexistent") / name, sha256="0" * 64,
                           executables=(elf.path,), elf=elf, version="1.0", project=project)


def test_a_sound_manylinux_wheel_says_nothing_wrong(catalog):
    sound = build("tool-1.0-py3-none-manylinux_2_17_aarch64.manylinux2014_aarch64.whl")
    assert contradictions(sound, catalog.get("aarch64")) == []
    assert [t.name for t in targets_for(sound, catalog.targets.values())] == ["aarch64"]


def test_a_musl_executable_in_a_manylinux_wheel(catalog):
    wrong = build("tool-1.0-py3-none-manylinux_2_17_aarch64.whl", loader=MUSL_LOADER)
    found = contradictions(wrong, catalog.get("aarch64"))
    assert found == ["wheel tag manylinux_2_17_aarch64 says glibc, but its executables are linked against musl "
                     f"(loader {MUSL_LOADER})"]


def test_a_glibc_executable_in_a_musllinux_wheel(catalog):
    wrong = build("tool-1.0-py3-none-musllinux_1_2_aarch64.whl")
    assert "wheel tag musllinux_1_2_aarch64 says musl, but its executables are linked against glibc" in \
        contradictions(wrong, catalog.get("aarch64-musl"))[0]


def test_a_wheel_for_two_platforms_is_tested_on_both_and_checked_against_each_tag(catalog):
    both = build("tool-1.0-py3-none-manylinux_2_17_aarch64.musllinux_1_1_aarch64.whl", loader=MUSL_LOADER)
    assert {t.name for t in targets_for(both, catalog.targets.values())} == {"aarch64", "aarch64-musl"}
    assert contradictions(both, catalog.get("aarch64-musl")) == []
    assert "says glibc" in contradictions(both, catalog.get("aarch64"))[0]


def test_glibc_symbols_above_the_tag(catalog):
    newer = build("tool-1.0-py3-none-manylinux_2_17_aarch64.whl", glibc=(2, 34))
    assert contradictions(newer, catalog.get("aarch64")) == [
        "wheel tag manylinux_2_17_aarch64 promises glibc 2.17, but its executables need GLIBC_2.34: they fail to "
        "start on the older systems the tag admits"]
    assert contradictions(build("tool-1.0-py3-none-manylinux_2_34_aarch64.whl", glibc=(2, 34)),
                          catalog.get("aarch64")) == []


def test_a_library_outside_the_manylinux_policy(catalog):
    outside = build("tool-1.0-py3-none-manylinux_2_17_aarch64.whl", needed=("libc.so.6", "libssl.so.3"))
    assert "its executables need libssl.so.3, which the manylinux policy does not allow" in \
        contradictions(outside, catalog.get("aarch64"))[0]


def test_another_machine_than_the_tag_says(catalog):
    x86 = build("tool-1.0-py3-none-manylinux_2_17_aarch64.whl", machine=X86_64, loader="/lib64/ld-linux-x86-64.so.2")
    assert [t.name for t in targets_for(x86, catalog.targets.values())] == ["aarch64"]
    assert "wheel tag manylinux_2_17_aarch64 says aarch64, but its executables are X86_64 64-bit little-endian ELF" \
        in contradictions(x86, catalog.get("aarch64"))[0]


def test_another_byte_order_than_the_arch_has(catalog):
    big = build("tool-1.0-py3-none-manylinux_2_17_ppc64le.whl", machine=PPC64, loader="/lib64/ld64.so.2",
                endian="big")
    assert "says ppc64le, but its executables are PPC64 64-bit big-endian ELF" in \
        contradictions(big, catalog.get("ppc64le"))[0]


@pytest.mark.parametrize("name, kind, project, arch", [
    ("tool_1.2.3_linux_arm64.tar.gz", "archive", None, "aarch64"),  # Go's words
    ("uv-s390x-unknown-linux-gnu.tar.xz", "archive", None, "s390x"),  # a Rust triple
    ("cli-linux-ppc64-1.0.0.tgz", "npm", "@scope/cli-linux-ppc64", "ppc64le"),  # npm's name for the package
])
def test_release_names_are_labels(catalog, name, kind, project, arch):
    mislabelled = build(name, machine=X86_64, loader="/lib64/ld-linux-x86-64.so.2", kind=kind, project=project)
    assert covers(mislabelled, catalog.get(arch))
    assert "but its executables are X86_64" in contradictions(mislabelled, catalog.get(arch))[0]


def test_a_musl_triple_names_the_musl_target(catalog):
    musl = build("tool-aarch64-unknown-linux-musl.tar.gz", kind="archive", loader=None, needed=())
    assert [claim.libc for claim in claims_of(musl)] == ["musl"]
    assert [t.name for t in targets_for(musl, catalog.targets.values())] == ["aarch64-musl"]


def test_a_build_without_a_label_claims_nothing(catalog):
    bare = build("mytool", kind="executable")
    assert claims_of(bare) == [] and contradictions(bare, catalog.get("aarch64")) == []
    assert {t.name for t in targets_for(bare, catalog.targets.values())} == {"aarch64"}


def test_an_npm_package_says_its_platform_in_package_json(catalog):
    """@biomejs/cli-linux-arm64 names no C library; its package.json's `libc: ["glibc"]` does: not the musl target."""
    biome = dataclasses.replace(build("biomejs-cli-linux-arm64-2.6.9.tgz", kind="npm", project="@biomejs/cli-linux-arm64"),
                                platform=(("cpu", ("arm64",)), ("libc", ("glibc",))))
    assert [t.name for t in targets_for(biome, catalog.targets.values())] == ["aarch64"]
    assert claims_of(biome)[0].says == "package.json of @biomejs/cli-linux-arm64 (cpu arm64, libc glibc)"
    musl = dataclasses.replace(biome, platform=(("cpu", ("arm64",)), ("libc", ("musl",))))
    assert "says musl, but its executables are linked against glibc" in contradictions(musl, catalog.get("aarch64-musl"))[0]


def test_a_label_silent_on_the_c_library_names_the_one_the_build_is_linked_against(catalog):
    glibc = build("tool_1.0_linux_arm64.tar.gz", kind="archive")
    assert [t.name for t in targets_for(glibc, catalog.targets.values())] == ["aarch64"]
    static = build("tool_1.0_linux_arm64.tar.gz", kind="archive", loader=None, needed=())
    assert {t.name for t in targets_for(static, catalog.targets.values())} == {"aarch64", "aarch64-musl"}
