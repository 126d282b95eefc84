"""The musl roots' own CPython (rootfs/musl_python.py): cross-built natively against the arch's Debian musl, it must
be a Python a musl system's user has: `python3 -m venv`, pip installing a wheel, and musl in its own report of
itself (pip's platform tags, sysconfig, its ELF interpreter), on every musl target whose root has one; the root's
/bin/sh is linked against musl as well."""

from __future__ import annotations

import json
import os

import pytest

from archsmoke.binary import read_elf
from archsmoke.tiers import load_catalog
from archsmoke.tiers.qemu_user import QemuUserRunner

MUSL_WITH_PYTHON = [t.name for t in load_catalog().targets.values() if t.rootfs.python == "musl"]

REPORT = """import json, sys, sysconfig
from pip._vendor.packaging import tags
print(json.dumps({"tag": str(next(iter(tags.sys_tags()))), "multiarch": sysconfig.get_config_var("MULTIARCH"),
                  "soabi": sysconfig.get_config_var("SOABI"), "executable": sys.executable}))"""


@pytest.mark.parametrize("arch", MUSL_WITH_PYTHON)
def test_the_musl_roots_python_makes_a_venv_installs_a_wheel_and_says_musl(catalog, built, tmp_path, arch):
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parents[1] / "smoke" / "uv"))
    from platform_wheels import TaggedWheel, write_wheel

    target = catalog.get(arch)
    rootfs = built(arch)
    interpreter = read_elf(rootfs.root / "usr/bin/python3.11")
    assert interpreter.libc == "musl" and interpreter.interpreter == target.loader, interpreter
    # /bin/sh is a musl program too, as on a musl system: tools read the system's libc from its ELF interpreter.
    shell = read_elf(rootfs.root / os.readlink(rootfs.root / "bin/sh").lstrip("/"))
    assert shell.interpreter == target.loader, shell
    wheel = write_wheel(TaggedWheel("archsmoke-hello", "1.0", f"py3-none-musllinux_1_2_{target.wheel_arch}"),
                        tmp_path)
    with QemuUserRunner(target, rootfs) as runner:
        runner.put(wheel, f"/tmp/{wheel.name}")
        runner.run(["python3", "-m", "venv", "/tmp/venv"], timeout=600).check()
        runner.run(["/tmp/venv/bin/python", "-m", "pip", "install", "--no-index", f"/tmp/{wheel.name}"],
                   timeout=600).check()
        landed = runner.run(["/tmp/venv/bin/python", "-c", "import archsmoke_hello as m; print(m.TAG)"]).check()
        assert landed.stdout.strip() == f"py3-none-musllinux_1_2_{target.wheel_arch}"
        report = json.loads(runner.run(["/tmp/venv/bin/python", "-c", REPORT]).check().stdout)
    assert report["tag"].endswith(f"-musllinux_1_2_{target.wheel_arch}"), report
    assert report["multiarch"] == target.multiarch and report["soabi"].endswith(target.multiarch), report


@pytest.mark.parametrize("line, shown", [
    ("powerpc64le-linux-musl-gcc -c -Wsign-compare -DNDEBUG -g -fwrapv -O3 -Wall -std=c11 -I./Include/internal"
     " -DPy_BUILD_CORE -o Objects/longobject.o Objects/longobject.c", "compiling Objects/longobject.c"),
    ("s390x-linux-musl-gcc -pthread -Xlinker -export-dynamic -o python Programs/python.o -L. -lpython3.11",
     "linking python"),
    ("checking for sys/ioctl.h... yes", "checking for sys/ioctl.h... yes"),
])
def test_the_build_progress_names_the_file_being_compiled(tmp_path, line, shown):
    from archsmoke.rootfs.musl_python import _last_line

    log = tmp_path / "build.log"
    log.write_text("x" * 5000 + "\n$ make -j2\n" + line + "\n\n")
    assert _last_line(log) == shown
