"""A real musl CPython for the musl roots, cross-compiled natively from Debian's sources.

Debian has no Python linked against musl, and its musl roots would have none
(the uv suite then skipped most of its tests there).  This builds CPython,
zlib and libffi from the same upstream tarballs Debian builds its own packages
from (pinned by sha256, fetched from the Debian mirror), with Debian's GNU
cross compiler for the arch pointed at the arch's Debian ``musl-dev`` through
a specs file, as Debian's own ``musl-gcc`` does natively.  Nothing is emulated,
so it takes minutes per arch, not hours; the result is a cache entry keyed by
everything that decides it, shared by every root built after it.

The interpreter is installed under /usr (python3, python3.11, its standard
library with ensurepip, venv and ctypes) and its two libraries beside musl's
own in /usr/lib/<musl multiarch>.  It says musl the way pip, packaging and uv
look for it: its ELF interpreter is musl's loader.  The same build gives the
root a /bin/sh linked against musl (dash), as a musl system's own shell is.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

from ..cache import Cache, content_key, files_verifier, hash_listing
from ..errors import HostSetupError, ImageBuildError
from ..progress import Progress, Sink
from ..targets import Target
from .musl_toolchain import CONFIG_SITE, EXTRA_CFLAGS, cross_compiler, toolchain

KIND = "musl-python"
# Bump when the build steps change what is built (the sources, configure's answers, what is left out and the
# per-arch flags are in the recipe themselves).
FORMAT = 2
VERSION = "3.11"
# (file in Debian's pool, sha256, the directory it unpacks to): bookworm's own upstream tarballs.
SOURCES = {
    "python": ("pool/main/p/python3.11/python3.11_3.11.2.orig.tar.gz",
               "2411c74bda5bbcfcddaf4531f66d1adc73f247f529aee981b029513aefdbf849", "Python-3.11.2"),
    "zlib": ("pool/main/z/zlib/zlib_1.2.13.dfsg.orig.tar.bz2",
             "71feb7947e3c00ef125f83b79a4e529bde31171e5babe48b391f06758d1ab0a1", "zlib-1.2.13.dfsg"),
    "libffi": ("pool/main/libf/libffi/libffi_3.4.4.orig.tar.gz",
               "d66c56ad259a82cf2a9dfc408b32bf5da52371500b84745f7fb8b645712df676", "libffi-3.4.4"),
    "dash": ("pool/main/d/dash/dash_0.5.12.orig.tar.gz",
             "6a474ac46e8b0b32916c4c60df694c82058d3297d8b385b74508030ca4a8f28a", "dash-0.5.12"),
}
# The root's /bin/sh: a shell linked against the root's musl, as on musl systems (Alpine's busybox, Void's dash).
# busybox-static has no ELF interpreter, and programs that learn the system's libc from /bin/sh's (uv before
# 0.6: "Could not read ELF interpreter from any of the following paths: /bin/sh, ...") fail on a root that no
# real musl system resembles.
SHELL = "usr/bin/dash"
# What the target's musl and Linux headers come from (the arch's own Debian packages, unpacked natively).
SDK_PACKAGES = ("musl-dev", "linux-libc-dev")
# Not shipped into the roots: tests, GUIs, the static library (about 120 MB of 190).
PRUNED = ("usr/lib/python3.11/test", "usr/lib/python3.11/idlelib", "usr/lib/python3.11/tkinter",
          "usr/lib/python3.11/turtledemo", "usr/lib/python3.11/lib2to3/tests", "usr/lib/libpython3.11.a",
          "usr/bin/idle3", "usr/bin/idle3.11", "usr/bin/2to3", "usr/bin/2to3-3.11")
TREE = "tree"


def recipe(target: Target) -> dict:
    return {"format": FORMAT, "debian_arch": target.debian_arch, "suite": target.rootfs.suite,
            "multiarch": target.multiarch, "sources": {name: sha for name, (_, sha, _) in SOURCES.items()},
            "config_site": CONFIG_SITE, "pruned": list(PRUNED),
            "cflags": list(EXTRA_CFLAGS.get(target.debian_arch, ()))}


def cache_key(target: Target) -> str:
    return f"{target.name}-{content_key(recipe(target))}"


def ensure(target: Target, cache: Cache, sdk_root: Path, mirror: str, sink: Sink | None = None) -> Path:
    """The built tree (usr/...) for the target, from the cache or built now; `sdk_root` holds SDK_PACKAGES."""
    key = cache_key(target)
    progress = Progress(f"python {target.name}", sink)
    entry = cache.ensure(KIND, key, build=lambda work: _build(target, cache, sdk_root, mirror, work, progress),
                         verify=files_verifier(),
                         on_damage=lambda why: progress.say(f"cache entry {key} is damaged ({why}); rebuilding"))
    return entry.path / TREE


def install_into(tree: Path, root: Path) -> None:
    """Copy the built tree into a root (its files are the root's from then on); its shell becomes /bin/sh."""
    shutil.copytree(tree, root, symlinks=True, dirs_exist_ok=True)
    bin_dir = root / "usr/bin" if (root / "bin").is_symlink() else root / "bin"  # merged /usr or not
    sh = bin_dir / "sh"
    if sh.is_symlink() or sh.exists():
        sh.unlink()
    sh.symlink_to(f"/{SHELL}")


def _fetch_sources(cache: Cache, mirror: str, work: Path, progress: Progress) -> dict[str, Path]:
    from ..download import RemoteFile, fetch

    unpacked = {}
    for name, (pool_path, sha256, directory) in SOURCES.items():
        url = f"{mirror.rstrip('/')}/{pool_path}"
        tarball = fetch(cache, RemoteFile(Path(pool_path).name, url, sha256), progress.sink)
        subprocess.run(["tar", "-xf", str(tarball), "-C", str(work)], check=True)
        unpacked[name] = work / directory
    return unpacked


def _run(argv: list[str], cwd: Path, env: dict[str, str], log: Path, what: str, target: Target,
         progress: Progress | None = None) -> None:
    """One build step, its output appended to the log; with progress, the log's last line every few seconds."""
    with log.open("ab") as out:
        out.write(f"\n$ {' '.join(argv)}\n".encode())
        out.flush()
        from .build import die_with_parent  # build.py imports this module

        process = subprocess.Popen(argv, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True, preexec_fn=die_with_parent)
        deadline = time.monotonic() + target.timeouts.build * 4
        try:
            while process.poll() is None:
                if time.monotonic() > deadline:
                    raise ImageBuildError(f"building the {target.name} root's musl Python took longer than its "
                                          f"{target.timeouts.build * 4:.0f} s budget at {what}",
                                          fix=f"raise timeouts.build in {target.source.name}")
                if progress is not None:
                    progress.update(f"{what}: {_last_line(log)}")
                time.sleep(2 if progress is not None else 0.2)
        finally:
            if process.poll() is None:
                os.killpg(process.pid, 9)
                process.wait()
    if process.returncode != 0:
        tail = "\n    ".join(log.read_text(errors="replace").splitlines()[-20:])
        raise ImageBuildError(f"building the {target.name} root's musl Python failed at {what} "
                              f"(exit {process.returncode}); the build log's last lines:\n    {tail}",
                              fix="report it with the log; the cross compiler or a source may have changed")


def _build(target: Target, cache: Cache, sdk_root: Path, mirror: str, work: Path, progress: Progress) -> dict:
    started = time.monotonic()
    cross_compiler(target)
    build = work / "build"
    build.mkdir()
    progress.say(f"fetching CPython {SOURCES['python'][2].split('-')[1]}, zlib, libffi and dash sources from {mirror}")
    sources = _fetch_sources(cache, mirror, build, progress)
    env = toolchain(target, sdk_root, build)
    musl, sysroot, log = target.multiarch, build / "sysroot", work / "build.log"
    jobs = f"-j{os.cpu_count() or 1}"
    host = ["--host", musl, "--build", "x86_64-pc-linux-gnu", "--prefix", "/usr"]
    progress.say("building zlib")
    zlib_env = {**env, "CHOST": musl}
    _run(["./configure", "--prefix=/usr"], sources["zlib"], zlib_env, log, "zlib's configure", target)
    _run(["make", jobs], sources["zlib"], zlib_env, log, "zlib", target)
    _run(["make", "install", f"DESTDIR={sysroot}"], sources["zlib"], zlib_env, log, "zlib's install", target)
    progress.say("building libffi")
    _run(["./configure", *host, "--disable-static", "--disable-docs"], sources["libffi"], env, log,
         "libffi's configure", target)
    _run(["make", jobs], sources["libffi"], env, log, "libffi", target)
    _run(["make", "install", f"DESTDIR={sysroot}"], sources["libffi"], env, log, "libffi's install", target)
    progress.say("building dash (the root's /bin/sh)")
    _run(["./configure", *host, "CC_FOR_BUILD=gcc"], sources["dash"], env, log, "dash's configure", target)
    _run(["make", jobs], sources["dash"], env, log, "dash", target)
    shell = build / "dash-tree"
    _run(["make", "install", f"DESTDIR={shell}"], sources["dash"], env, log, "dash's install", target)
    progress.say(f"building CPython for {musl} (a few minutes)")
    python = sources["python"]
    # CPython 3.11 names its platform triplet linux-musl (SOABI, sysconfig's MULTIARCH) only when the *build*
    # system's os says musl (configure.ac reads $build_os where it means $host_os): say so, as Alpine's native
    # builds do.  Nothing else of the build machine is read: the build Python is given.
    python_host = ["--host", musl, "--build", "x86_64-pc-linux-musl", "--prefix", "/usr"]
    _run(["./configure", *python_host, "--with-build-python=" + _build_python(), "--with-ensurepip=no",
          "--disable-test-modules", f"CPPFLAGS=-I{sysroot}/usr/include", f"LDFLAGS=-L{sysroot}/usr/lib"],
         python, env, log, "CPython's configure", target)
    _run(["make", jobs], python, env, log, "CPython", target, progress)
    tree = work / TREE
    _run(["make", "install", f"DESTDIR={tree}"], python, env, log, "CPython's install", target)
    for name in PRUNED:
        path = tree / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif path.exists() or path.is_symlink():
            path.unlink()
    for static in (tree / "usr/lib/python3.11").glob("config-*/libpython*.a"):
        static.unlink()
    _install_pip(tree)
    shutil.copy2(shell / "usr/bin/dash", tree / SHELL)
    libraries = tree / "usr/lib" / musl
    libraries.mkdir(parents=True)
    for library in [*sysroot.glob("usr/lib/libz.so*"), *sysroot.glob("usr/lib/libffi.so*")]:
        shutil.copy2(library, libraries / library.name, follow_symlinks=False)
    _strip(tree, env, log, target)
    shutil.rmtree(build)
    files = sorted(str(p.relative_to(work)) for p in tree.rglob("*") if p.is_file() and not p.is_symlink())
    size = sum((work / f).stat().st_size for f in files)
    seconds = round(time.monotonic() - started, 1)
    progress.say(f"CPython for {target.name} built in {seconds:.0f} s: {size >> 20} MiB in {len(files)} files")
    return {"target": target.name, "recipe": recipe(target), "mirror": mirror, "build_seconds": seconds,
            "size": size, "files": hash_listing(work, files)}


def _install_pip(tree: Path) -> None:
    """pip in the system's site-packages, as Debian's python3-pip gives the glibc roots (`python3 -m pip`): the
    wheel ensurepip bundles, unpacked (a pure wheel's install is its unpacking; `-m` needs no entry point)."""
    import zipfile

    bundled = sorted((tree / "usr/lib/python3.11/ensurepip/_bundled").glob("pip-*.whl"))
    if not bundled:
        raise ImageBuildError("CPython's ensurepip bundles no pip wheel", fix="check the CPython source in SOURCES")
    with zipfile.ZipFile(bundled[-1]) as wheel:
        wheel.extractall(tree / "usr/lib/python3.11/site-packages")


def _last_line(log: Path) -> str:
    """What the build is doing, from its log's last line: a compiler line says which file it compiles or links
    (its flags would fill the line), anything else is shown as it is."""
    with log.open("rb") as handle:
        handle.seek(max(0, log.stat().st_size - 4096))
        lines = [line for line in handle.read().decode(errors="replace").splitlines() if line.strip()]
    if not lines:
        return ""
    words = lines[-1].split()
    sources = [word for word in words if word.endswith((".c", ".S"))]
    if words and words[0].endswith("gcc") and sources:
        return f"compiling {sources[-1]}"
    if words and words[0].endswith("gcc") and "-o" in words[:-1]:
        return f"linking {words[words.index('-o') + 1]}"
    return lines[-1].strip()[:90]


def _build_python() -> str:
    """A Python of the same version to run CPython's build scripts (Debian 12's own)."""
    for candidate in (f"/usr/bin/python{VERSION}", shutil.which(f"python{VERSION}")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    raise HostSetupError(f"python{VERSION} is not installed; cross-building CPython {VERSION} needs it",
                         fix=f"apt-get install python{VERSION} (Debian 12's python3)")


def _strip(tree: Path, env: dict[str, str], log: Path, target: Target) -> None:
    """Debug information is most of the size; nobody debugs the interpreter under test."""
    binaries = [p for p in tree.rglob("*") if p.is_file() and not p.is_symlink() and _is_elf(p)]
    if binaries:
        _run([env["STRIP"], "--strip-unneeded", *map(str, binaries)], tree, env, log, "stripping", target)


def _is_elf(path: Path) -> bool:
    from ..binary.formats.members import ELF_MAGIC

    with path.open("rb") as handle:
        return handle.read(len(ELF_MAGIC)) == ELF_MAGIC
