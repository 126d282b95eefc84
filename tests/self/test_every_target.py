"""Every target in vms/ runs a dynamically linked program of its C library, linked as builds made elsewhere are:
against the ABI's canonical loader path.  A change in Debian's layout (sid's merged /usr left the riscv64-musl
root without /lib, so no dynamic musl program could start there) fails here, not for a user."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from archsmoke.arches import ARCHES
from archsmoke.binary import read_elf
from archsmoke.rootfs import RootfsBuilder
from archsmoke.rootfs.build import sdk_target
from archsmoke.tiers import load_catalog
from archsmoke.tiers.qemu_user import QemuUserRunner

sys.path.insert(0, str(Path(__file__).parents[1] / "smoke" / "uv"))
from platform_wheels import CLANG_TARGETS  # noqa: E402 - clang's target per arch, as the uv suite uses it

# Where each ABI puts its dynamic loader: what a program built on any distribution asks for (PT_INTERP).
GLIBC_LOADERS = {"amd64": "/lib64/ld-linux-x86-64.so.2", "i386": "/lib/ld-linux.so.2",
                 "arm64": "/lib/ld-linux-aarch64.so.1", "armhf": "/lib/ld-linux-armhf.so.3",
                 "ppc64el": "/lib64/ld64.so.2", "s390x": "/lib/ld64.so.1",
                 "riscv64": "/lib/ld-linux-riscv64-lp64d.so.1"}
MUSL_NAMES = {"amd64": "x86_64", "i386": "i386", "arm64": "aarch64", "armhf": "armhf", "ppc64el": "powerpc64le",
              "s390x": "s390x", "riscv64": "riscv64"}
SDK = {"glibc": "libc6-dev", "musl": "musl-dev"}
# LLVM 14's lld cannot link s390x, nor riscv64 objects that need linker relaxation (Debian's crt1.o).
GNU_LD = {"s390x": "/usr/bin/s390x-linux-gnu-ld", "riscv64": "/usr/bin/riscv64-linux-gnu-ld"}
PROGRAM = 'int puts(const char *);\nint main(void) { puts("a dynamic program runs"); return 0; }\n'
TARGETS = load_catalog().names


def loader(target) -> str:
    if target.libc == "musl":
        return f"/lib/ld-musl-{MUSL_NAMES[target.debian_arch]}.so.1"
    return GLIBC_LOADERS[target.debian_arch]


def _sdk(builder: RootfsBuilder, target):
    """The target's C library for linking (its -dev package from the same suite), cached like a root."""
    return builder.ensure(sdk_target(target, (SDK[target.libc],))).root


def _link(target, sdk: Path, work: Path) -> Path:
    """crt1.o, crti.o, the program, -lc, crtn.o: a C program as any toolchain links it, without libgcc."""
    arch = ARCHES[target.debian_arch].uname
    clang_target = CLANG_TARGETS[arch].replace("gnu", "musl") if target.libc == "musl" else CLANG_TARGETS[arch]
    libraries = sdk / "usr/lib" / target.multiarch
    objects = []
    for name in ("crt1.o", "crti.o", "crtn.o"):  # newer objects than LLVM 14 reads carry debug relocations
        stripped = work / name
        subprocess.run(["llvm-objcopy", "--strip-debug", str(libraries / name), str(stripped)], check=True)
        objects.append(stripped)
    source, program = work / "hello.c", work / "hello"
    source.write_text(PROGRAM)
    linker = f"-fuse-ld={GNU_LD[arch]}" if arch in GNU_LD else "-fuse-ld=lld"
    # glibc's libc.so is a linker script naming absolute paths; the library itself and its static part do not.
    libc = [str(sdk / "lib" / target.multiarch / "libc.so.6"), str(libraries / "libc_nonshared.a"),
            f"-Wl,-rpath-link,{sdk / 'lib' / target.multiarch}"] \
        if target.libc == "glibc" else [f"-L{sdk / 'lib' / target.multiarch}", f"-L{libraries}", "-lc"]
    done = subprocess.run(["clang", f"--target={clang_target}", "-O1", "-nostdlib", linker,
                           f"-Wl,--dynamic-linker={loader(target)}", "-o", str(program), str(objects[0]),
                           str(objects[1]), str(source), *libc, str(objects[2])], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return program


@pytest.mark.parametrize("arch", TARGETS)
def test_the_target_runs_a_dynamic_program_of_its_c_library(cache, catalog, built, tmp_path, arch):
    target = catalog.get(arch)
    program = _link(target, _sdk(RootfsBuilder(cache), target), tmp_path)
    assert read_elf(program).interpreter == loader(target) and read_elf(program).libc == target.libc
    with QemuUserRunner(target, built(arch)) as runner:
        runner.put(program, "/tmp/hello", mode=0o755)
        result = runner.run(["/tmp/hello"])
    assert result.ok and result.stdout == "a dynamic program runs\n", result.report()
