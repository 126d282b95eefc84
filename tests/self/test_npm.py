"""npm packages: esbuild's real per-platform packages (Go, one package per arch), read as `npm pack` writes
them and downloaded with --release from an npm registry of the tests' own on 127.0.0.1 (the packages
themselves fetched once from registry.npmjs.org, verified against their integrity)."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from archsmoke.binary import ESBUILD, prepare
from archsmoke.binary.npm import fetch_release
from archsmoke.cache import Cache
from npmregistry import NpmRegistry

ESBUILD_RELEASE = "0.25.5"
# Every arch esbuild publishes a linux package for that archsmoke has a target of (glibc targets; its Go
# builds are static, so the musl targets take the same packages).
ESBUILD_ARCHES = ["ppc64le", "s390x", "riscv64", "armv7", "aarch64", "i386", "x86_64"]


@pytest.fixture(scope="session")
def esbuild_packages(cache, catalog) -> dict[str, Path]:
    """arch -> esbuild's real package tarball for it (from registry.npmjs.org once, then the cache)."""
    return {arch: fetch_release(ESBUILD, ESBUILD_RELEASE, catalog.get(arch), cache).file for arch in ESBUILD_ARCHES}


@pytest.fixture
def registry(tmp_path, esbuild_packages):
    server = NpmRegistry(tmp_path / "npm")
    for tarball in esbuild_packages.values():
        server.publish(tarball)
    yield server
    server.close()


@pytest.fixture
def scratch_cache(tmp_path):
    return Cache(tmp_path / "cache")


def _npm_tarball(directory: Path, manifest: dict, files: dict[str, bytes]) -> Path:
    """A package as `npm pack` writes it: package/package.json and the files, gzipped."""
    path = directory / f"{manifest['name'].replace('/', '-').lstrip('@')}-{manifest['version']}.tgz"
    with tarfile.open(path, "w:gz") as archive:
        for name, data in {"package.json": json.dumps(manifest).encode(), **files}.items():
            info = tarfile.TarInfo(f"package/{name}")
            info.size, info.mode = len(data), 0o755
            archive.addfile(info, io.BytesIO(data))
    return path


def test_a_platform_package_is_read_as_npm_pack_writes_it(esbuild_packages, scratch_cache):
    binary = prepare(esbuild_packages["ppc64le"], scratch_cache)
    assert binary.kind == "npm" and binary.names == ("esbuild",) and binary.elf.machine == "PPC64"
    assert binary.project == "@esbuild/linux-ppc64" and binary.version == ESBUILD_RELEASE


def test_the_bin_field_names_the_executables(esbuild_packages, tmp_path, scratch_cache):
    elf = prepare(esbuild_packages["s390x"], scratch_cache).executables[0].read_bytes()
    package = _npm_tarball(tmp_path, {"name": "mytool", "version": "2.0.0", "bin": {"mytool": "dist/mytool-s390x"}},
                           {"dist/mytool-s390x": elf, "dist/helper-not-named": elf, "cli.js": b"#!/usr/bin/env node\n"})
    binary = prepare(package, scratch_cache)
    assert binary.names == ("mytool",) and binary.version == "2.0.0" and binary.elf.machine == "S390"


def test_several_elf_files_and_no_bin_are_each_an_executable_the_one_named_for_the_package_first(
        esbuild_packages, tmp_path, scratch_cache):
    """A per-platform package whose `bin` lives in its meta-package (a CLI beside its language server)."""
    elf = prepare(esbuild_packages["s390x"], scratch_cache).executables[0].read_bytes()
    package = _npm_tarball(tmp_path, {"name": "@scope/cli-linux-s390x", "version": "2.0.0"},
                           {"bin/cli_language_server": elf, "bin/cli": elf})
    build = prepare(package, scratch_cache)
    assert build.names == ("cli", "cli_language_server") and build.defects == ()


def test_a_bin_naming_a_file_outside_the_package_is_a_defect_not_a_fallback(esbuild_packages, tmp_path,
                                                                             scratch_cache):
    elf = prepare(esbuild_packages["s390x"], scratch_cache).executables[0].read_bytes()
    package = _npm_tarball(tmp_path, {"name": "@scope/cli-linux-s390x", "version": "2.0.0",
                                      "bin": {"cli": "../outside/cli", "cli-missing": "bin/none"}}, {"bin/cli": elf})
    build = prepare(package, scratch_cache)
    assert build.defects == ("package.json's `bin` names '../outside/cli' for `cli`: outside the package, so npm "
                             "installs no such command",
                             "package.json's `bin` names 'bin/none' for `cli-missing`: a file the package lacks, so "
                             "npm installs no such command")
    assert build.names == ("cli",)  # its ELF files are still tested, and the label test fails on the defect


def _pytest(cwd: Path, *args: str, timeout: float = 1200) -> tuple[int, str]:
    done = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *args],
                          cwd=cwd, capture_output=True, text=True, timeout=timeout)
    return done.returncode, done.stdout + done.stderr


BUNDLE_TEST = r'''
def test_bundles_typescript(target, installed_binary, target_tmp_path):
    source = f"{target_tmp_path}/main.ts"
    target.run(["sh", "-c", f"printf 'const greet = (who: string): string => `hi ${{who}}`;\\nconsole.log(greet(\"ppc\"));\\n' > {source}"]).check()
    result = target.run(installed_binary.command("--bundle", source), env=installed_binary.env).check()
    assert "(who) => `hi ${who}`" in result.stdout and ": string" not in result.stdout, result.report()
'''


def test_esbuild_from_the_registry_bundles_typescript_on_every_arch_it_ships_for(registry, tmp_path, cache):
    (tmp_path / "test_esbuild.py").write_text(BUNDLE_TEST)
    code, output = _pytest(tmp_path, "test_esbuild.py", "--pyargs", "archsmoke.generic", "--product", "esbuild",
                           "--release", ESBUILD_RELEASE, "--arch", ",".join(ESBUILD_ARCHES), "--runner", "qemu-user",
                           "--npm-registry", registry.url, "--cache-dir", str(cache.root))
    assert code == 0, output[-5000:]
    # per arch: the bundle test and the no-code suite (5 checks, the loader's skipped: a static Go build; the
    # package's name, @esbuild/linux-ppc64, is its label)
    assert f"{5 * len(ESBUILD_ARCHES)} passed, {len(ESBUILD_ARCHES)} skipped" in output, output[-3000:]
    assert f"@esbuild/linux-ppc64 {ESBUILD_RELEASE}" in output
    # qemu-i386 7.2 cannot run Go's 386 runtime at any CPU model ("fatal error: morestack on g0"); natively it
    # runs: the i386 build passes, run natively, and its CPU floor is named as not covered, never a false failure.
    assert "NOT COVERED: CPU floor coreduo on i386: qemu-i386 cannot run this esbuild build at any CPU model" in output


def test_an_integrity_mismatch_is_a_download_error(esbuild_packages, tmp_path):
    server = NpmRegistry(tmp_path / "npm")
    try:
        server.publish(esbuild_packages["s390x"], claimed_integrity="sha512-" + "A" * 86 + "==")
        code, output = _pytest(tmp_path, "--pyargs", "archsmoke.generic", "--product", "esbuild", "--release",
                               ESBUILD_RELEASE, "--arch", "s390x", "--npm-registry", server.url,
                               "--cache-dir", str(tmp_path / "fresh"), timeout=300)
    finally:
        server.close()
    assert code == 5 and "does not match its published integrity" in output and "Traceback" not in output, output


def test_a_version_the_registry_does_not_have(registry, tmp_path):
    code, output = _pytest(tmp_path, "--pyargs", "archsmoke.generic", "--product", "esbuild", "--release", "0.0.1",
                           "--arch", "s390x", "--npm-registry", registry.url, "--cache-dir", str(tmp_path / "fresh"),
                           timeout=300)
    assert code == 5 and f"@esbuild/linux-s390x 0.0.1 is not published on the npm registry (newest: " \
        f"{ESBUILD_RELEASE})" in output, output


def test_a_package_for_another_arch_is_refused(esbuild_packages, tmp_path, cache):
    code, output = _pytest(tmp_path, "--pyargs", "archsmoke.generic", "--binary", str(esbuild_packages["s390x"]),
                           "--arch", "ppc64le", "--runner", "qemu-user", "--cache-dir", str(cache.root), timeout=300)
    assert code == 4 and "Traceback" not in output, output
    assert re.search(r"S390 64-bit big-endian ELF.*ppc64le", output), output


def test_a_pinned_release_is_found_offline_once_downloaded(registry, tmp_path, cache):
    fresh = tmp_path / "fresh"
    (fresh / "rootfs").parent.mkdir(parents=True, exist_ok=True)
    (fresh / "rootfs").symlink_to(cache.root / "rootfs")
    args = ["--pyargs", "archsmoke.generic", "--product", "esbuild", "--release", ESBUILD_RELEASE, "--arch", "s390x",
            "--npm-registry", registry.url, "--cache-dir", str(fresh)]
    assert _pytest(tmp_path, *args)[0] == 0
    asked = len(registry.requests)
    registry.close()
    code, output = _pytest(tmp_path, *args)
    assert code == 0 and "cached" in output, output[-3000:]
    assert len(registry.requests) == asked


def test_bisect_lists_releases_from_the_npm_registry(registry, tmp_path, cache):
    done = subprocess.run([sys.executable, "-m", "archsmoke", "--cache-dir", str(cache.root), "bisect", "--product",
                           "esbuild", "--arch", "ppc64le", "--good", ESBUILD_RELEASE, "--bad", "0.25.4",
                           "--npm-registry", registry.url], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert f"@esbuild/linux-ppc64 0.25.4 is not a release on {registry.url} (near it: {ESBUILD_RELEASE})" in done.stderr
    assert any(path.startswith("/@esbuild/linux-ppc64") for path in registry.requests)
