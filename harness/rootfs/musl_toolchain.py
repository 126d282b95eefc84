"""Debian's GNU cross compiler for an arch, pointed at that arch's Debian musl through a specs file (as Debian's
own `musl-gcc` does natively): a `MULTIARCH-gcc` and its binutils, and the environment that makes autoconf builds
use them.  The musl roots' CPython (musl_python.py) is built with it."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from ..arches import ARCHES
from ..errors import HostSetupError
from ..targets import Target

# Per arch: what the GNU cross compiler needs to produce musl's ABI (musl on ppc64le has a 64-bit long double).
EXTRA_CFLAGS = {"ppc64el": ("-mlong-double-64",)}
# Configure's answers it cannot find out without running the target's programs.
CONFIG_SITE = "ac_cv_file__dev_ptmx=yes\nac_cv_file__dev_ptc=no\nac_cv_buggy_getaddrinfo=no\n"
CROSS_PACKAGES = {arch.debian: f"gcc-{arch.gnu_triplet}" for arch in ARCHES.values()}


def cross_compiler(target: Target) -> str:
    triplet = ARCHES[target.debian_arch].gnu_triplet
    found = shutil.which(f"{triplet}-gcc")
    if found is None:
        raise HostSetupError(f"{triplet}-gcc is not installed; it builds the {target.name} root's musl Python",
                             fix=f"apt-get install {CROSS_PACKAGES[target.debian_arch]} make (or run ./bootstrap)")
    if shutil.which("make") is None:
        raise HostSetupError("make is not installed; it builds the musl roots' Python", fix="apt-get install make")
    return found


def toolchain(target: Target, sdk_root: Path, work: Path) -> dict[str, str]:
    """A `MULTIARCH-gcc` wrapper (libtool repeats flags, so the specs file goes in a wrapper, not CC) and the
    environment that makes every build below use it."""
    arch = ARCHES[target.debian_arch]
    gnu, musl = arch.gnu_triplet, target.multiarch
    headers = work / "kernel-headers"
    headers.mkdir()
    for name in ("linux", "asm-generic", "mtd", "rdma", "sound", "video", "xen", "drm", "misc"):
        if (sdk_root / "usr/include" / name).exists():
            (headers / name).symlink_to(sdk_root / "usr/include" / name)
    (headers / "asm").symlink_to(sdk_root / "usr/include" / gnu / "asm")
    include, libraries = sdk_root / "usr/include" / musl, [sdk_root / "lib" / musl, sdk_root / "usr/lib" / musl]
    # The start files without their debug sections: sid's (riscv64-musl's) carry relocations there that bookworm's
    # linker crashes on (ld terminated with signal 11).
    start_files = work / "start-files"
    start_files.mkdir()
    for name in ("Scrt1.o", "crt1.o", "crti.o", "crtn.o"):
        subprocess.run([f"/usr/bin/{gnu}-objcopy", "--strip-debug", str(libraries[1] / name),
                        str(start_files / name)], check=True)
    specs = work / "musl.specs"
    flags = " ".join(EXTRA_CFLAGS.get(target.debian_arch, ()))
    specs.write_text(
        "%rename cpp_options old_cpp_options\n\n"
        f"*cpp_options:\n-nostdinc -isystem {include} -isystem {headers} -isystem include%s %(old_cpp_options)\n\n"
        f"*cc1:\n%(cc1_cpu) {flags} -nostdinc -isystem {include} -isystem {headers} -isystem include%s\n\n"
        f"*link_libgcc:\n{' '.join(f'-L{d}' for d in libraries)} -L .%s\n\n"
        "*libgcc:\nlibgcc.a%s %:if-exists(libgcc_eh.a%s)\n\n"
        f"*startfile:\n%{{!shared: {start_files}/Scrt1.o}} {start_files}/crti.o crtbeginS.o%s\n\n"
        f"*endfile:\ncrtendS.o%s {start_files}/crtn.o\n\n"
        f"*link:\n-dynamic-linker {arch.loader('musl')} -nostdlib %{{shared:-shared}} %{{static:-static}} "
        "%{rdynamic:-export-dynamic}\n\n*esp_link:\n\n\n*esp_options:\n\n\n*esp_cpp_options:\n\n\n")
    tools = work / "bin"
    tools.mkdir()
    wrapper = tools / f"{musl}-gcc"
    # Asked for its multiarch (CPython's configure does), the compiler is musl's, not the GNU one it wraps.
    wrapper.write_text(f'#!/bin/sh\n[ "$1" = --print-multiarch ] && {{ echo {musl}; exit 0; }}\n'
                       f'exec {cross_compiler(target)} -specs={specs} "$@"\n')
    wrapper.chmod(0o755)
    for tool in ("ar", "ranlib", "strip", "nm", "objcopy", "readelf", "ld"):
        (tools / f"{musl}-{tool}").symlink_to(f"/usr/bin/{gnu}-{tool}")
    (work / "config.site").write_text(CONFIG_SITE)
    sysroot = work / "sysroot"
    return {**os.environ, "PATH": f"{tools}:{os.environ.get('PATH', '/usr/bin:/bin')}", "CC": f"{musl}-gcc",
            "AR": f"{musl}-ar", "RANLIB": f"{musl}-ranlib", "STRIP": f"{musl}-strip",
            "CONFIG_SITE": str(work / "config.site"), "PKG_CONFIG_LIBDIR": str(sysroot / "usr/lib/pkgconfig"),
            "PKG_CONFIG_SYSROOT_DIR": str(sysroot)}
