"""Native libraries built by the tests, sound or with one of the defects real builds ship, cross-compiled with clang
for one arch: extdemo (tests/self/extmodules/ext.c) in a wheel laid out as a real one (RECORD hashes, abi3 tag),
and an N-API addon (addon.c) in an npm package as `npm pack` writes it."""

from __future__ import annotations

import io
import json
import shutil
import tarfile
import subprocess
import zipfile
from pathlib import Path

from toolwheels import record_hash

SOURCE = Path(__file__).parent / "self" / "extmodules" / "ext.c"
ADDON_SOURCE = SOURCE.with_name("addon.c")
NPM_CPU = {"x86_64": "x64", "i386": "ia32", "aarch64": "arm64", "armv7": "arm", "ppc64le": "ppc64", "s390x": "s390x",
           "riscv64": "riscv64"}
# clang's target and the wheel's arch word for each arch archsmoke has.
CLANG_TARGETS = {"x86_64": "x86_64-linux-gnu", "i386": "i686-linux-gnu", "aarch64": "aarch64-linux-gnu",
                 "armv7": "armv7a-linux-gnueabihf", "ppc64le": "powerpc64le-linux-gnu", "s390x": "s390x-linux-gnu",
                 "riscv64": "riscv64-linux-gnu"}
WHEEL_ARCH = {"i386": "i686", "armv7": "armv7l"}
# What each defect needs of the compiler beside its macro.
DEFECTS = {"sound": [], "lse": ["-DLSE", "-march=armv8.1-a"], "power9": ["-DPOWER9", "-mcpu=power9"],
           "avx2": ["-DAVX2"], "4k-pages": ["-DASSUMES_4K_PAGES"]}


def compile_module(arch: str, defect: str, out: Path, needs: str | None = None, source: Path = SOURCE) -> Path:
    """The module for `arch` with `defect`; `needs` names a shared library it is linked against (a stub made
    beside it, which the wheel does not ship)."""
    if shutil.which("clang") is None:
        raise RuntimeError("clang is missing: run ./bootstrap")
    base = ["clang", f"--target={CLANG_TARGETS[arch]}", "-O2", "-fPIC", "-shared", "-nostdlib"]
    base += ["-fuse-ld=lld"] if arch != "s390x" else []  # LLVM 14's lld cannot link s390x: GNU ld by prefix
    linked = []
    if needs is not None:
        stub = out.parent / needs
        stub_source = out.parent / "stub.c"
        stub_source.write_text("int archsmoke_stub(void) { return 1; }\n")
        subprocess.run([*base, f"-Wl,-soname,{needs}", "-o", str(stub), str(stub_source)], check=True,
                       capture_output=True, text=True)
        linked = [str(stub)]
    subprocess.run([*base, *DEFECTS[defect], "-o", str(out), str(source), *linked], check=True, capture_output=True,
                   text=True)
    return out


def ext_wheel(directory: Path, arch: str, defect: str = "sound", libc: str = "glibc", version: str = "1.0",
              library: Path | None = None, requires: tuple[str, ...] = (), undeclared: tuple[str, ...] = ()) -> Path:
    """extdemo-VERSION-cp38-abi3-PLATFORM.whl: a package with the extension module extdemo._fast (the one given,
    or compiled for `arch` with `defect`); its __init__.py imports each project it `requires` (Requires-Dist) and
    each it uses `undeclared`."""
    word = WHEEL_ARCH.get(arch, arch)
    floor = "31" if arch == "riscv64" else "17"
    platform = f"musllinux_1_2_{word}" if libc == "musl" else f"manylinux_{'2_' + floor}_{word}"
    directory.mkdir(parents=True, exist_ok=True)
    built = library or compile_module(arch, defect, directory / f"_fast-{arch}-{defect}.so")
    info = f"extdemo-{version}.dist-info"
    imports = "".join(f"import {r.split()[0].replace('-', '_')}\n" for r in (*requires, *undeclared))
    needs = "".join(f"Requires-Dist: {r}\n" for r in requires)
    files = {"extdemo/__init__.py": f'"""A stand-in for a package with native code."""\n{imports}'.encode(),
             "extdemo/_fast.abi3.so": built.read_bytes(),
             f"{info}/METADATA": f"Metadata-Version: 2.1\nName: extdemo\nVersion: {version}\n{needs}".encode(),
             f"{info}/WHEEL": (f"Wheel-Version: 1.0\nGenerator: archsmoke-tests\nRoot-Is-Purelib: false\n"
                               f"Tag: cp38-abi3-{platform}\n").encode()}
    record = "".join(f"{member},{record_hash(data)},{len(data)}\n" for member, data in files.items())
    path = directory / defect / f"extdemo-{version}-cp38-abi3-{platform}.whl"
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as archive:
        for member, data in files.items():
            archive.writestr(member, data)
        archive.writestr(f"{info}/RECORD", record + f"{info}/RECORD,,\n")
    return path


def addon_package(directory: Path, arch: str, defect: str = "sound", version: str = "1.0.0",
                  addon: Path | None = None, cpu: str | None = None) -> Path:
    """@archsmoke-demo/addon-linux-CPU-gnu-VERSION.tgz: package.json (cpu, os, libc, main) and addon.node."""
    cpu = cpu or NPM_CPU[arch]
    directory.mkdir(parents=True, exist_ok=True)
    name = f"@archsmoke-demo/addon-linux-{NPM_CPU[arch]}-gnu"
    built = addon or compile_module(arch, defect, directory / f"addon-{arch}-{defect}.node", source=ADDON_SOURCE)
    manifest = {"name": name, "version": version, "os": ["linux"], "cpu": [cpu], "libc": ["glibc"],
                "main": "addon.node", "files": ["addon.node"]}
    files = {"package/package.json": json.dumps(manifest, indent=2).encode(), "package/addon.node": built.read_bytes()}
    path = directory / defect / f"archsmoke-demo-addon-linux-{NPM_CPU[arch]}-gnu-{version}.tgz"
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz") as archive:
        for member, data in files.items():
            info = tarfile.TarInfo(member)
            info.size, info.mode = len(data), 0o644
            archive.addfile(info, io.BytesIO(data))
    return path


def pure_wheel(directory: Path, project: str, version: str = "1.0", platform: str = "any") -> Path:
    """PROJECT-VERSION-py3-none-PLATFORM.whl holding the module PROJECT (dashes as underscores)."""
    module = project.replace("-", "_")
    info = f"{module}-{version}.dist-info"
    files = {f"{module}/__init__.py": f"VERSION = {version!r}\n".encode(),
             f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {project}\nVersion: {version}\n".encode(),
             f"{info}/WHEEL": (f"Wheel-Version: 1.0\nGenerator: archsmoke-tests\n"
                               f"Root-Is-Purelib: {str(platform == 'any').lower()}\nTag: py3-none-{platform}\n").encode()}
    record = "".join(f"{member},{record_hash(data)},{len(data)}\n" for member, data in files.items())
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{module}-{version}-py3-none-{platform}.whl"
    with zipfile.ZipFile(path, "w") as archive:
        for member, data in files.items():
            archive.writestr(member, data)
        archive.writestr(f"{info}/RECORD", record + f"{info}/RECORD,,\n")
    return path
