"""Root filesystems of the target architectures, built from Debian's archive and cached by content.

A build runs ``mmdebstrap --variant=extract``: it downloads and unpacks the
packages but runs none of their maintainer scripts, which is where most of a
normal foreign-arch bootstrap goes (every postinst under emulation).  What
those scripts would have done and archsmoke's targets need is done here,
natively where possible: accounts, hosts, CA bundle, and byte-compiling Python
with a host interpreter of the same version (pyc files are arch-independent).
Only ``ldconfig`` runs emulated, and byte-compiling when the host has no
matching Python.
"""

from __future__ import annotations

import ctypes
import json
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from . import binfmt
from .cache import Cache, content_key, retire
from .errors import ConfigError, HostSetupError, ImageBuildError
from .mirror import debian_mirror, sources_line
from .progress import Progress, Sink
from .targets import Target

KIND = "rootfs"
# Bump when the build steps change what ends up in a root filesystem.
FORMAT = 3
MANIFEST = "manifest.json"
UNREADABLE = "not readable by this user"


def recipe(target: Target) -> dict:
    return {
        "format": FORMAT,
        "suite": target.rootfs.suite,
        "debian_arch": target.debian_arch,
        "packages": sorted(target.rootfs.packages),
        "variant": "extract",
    }


def cache_key(target: Target) -> str:
    return f"{target.name}-{content_key(recipe(target))}"


@dataclass(frozen=True)
class RootFilesystem:
    target: Target
    key: str
    path: Path  # the entry directory; the tree itself is path / "root"
    manifest: dict

    @property
    def root(self) -> Path:
        return self.path / "root"


def resolve_in_root(root: Path, path: str, depth: int = 0) -> Path:
    """Follow symlinks inside a root filesystem the way the target's kernel would."""
    current = root
    parts = [p for p in PurePosixPath(path).parts if p != "/"]
    for index, part in enumerate(parts):
        candidate = current / part
        if candidate.is_symlink():
            if depth > 40:
                break
            link = os.readlink(candidate)
            rest = "/".join(parts[index + 1:])
            base = "/" if link.startswith("/") else "/" + str(current.relative_to(root))
            return resolve_in_root(root, str(PurePosixPath(base, link, rest)), depth + 1)
        current = candidate
    return current


def tree_digest(root: Path) -> tuple[str, int]:
    """A digest of the tree's shape (names, types, modes, sizes, link targets) and its file count.

    Cheap enough to check on every use (about 0.1 s); catches deleted, truncated
    and added files.  ``images verify --deep`` is not needed for that.
    """
    import hashlib

    digest = hashlib.sha256()
    count = 0
    stack = [(str(root), "")]
    while stack:
        directory, prefix = stack.pop()
        with os.scandir(directory) as entries:
            for entry in sorted(entries, key=lambda e: e.name):
                st = entry.stat(follow_symlinks=False)
                rel = prefix + entry.name
                is_link = stat.S_ISLNK(st.st_mode)
                link = os.readlink(entry.path) if is_link else ""
                size = st.st_size if stat.S_ISREG(st.st_mode) else 0
                digest.update(f"{rel}\0{st.st_mode:o}\0{size}\0{link}\n".encode("utf-8", "surrogateescape"))
                count += 1
                if stat.S_ISDIR(st.st_mode):
                    stack.append((entry.path, rel + "/"))
    return digest.hexdigest(), count


def check_entry(path: Path, key: str) -> tuple[dict | None, str]:
    """(manifest, "") for a sound entry, (None, why) for a damaged or missing one."""
    if not path.is_dir():
        return None, "not built"
    try:
        manifest = json.loads((path / MANIFEST).read_text())
    except (OSError, ValueError) as exc:
        return None, f"manifest unreadable ({exc.__class__.__name__})"
    if manifest.get("key") != key:
        return None, "manifest is for another key"
    if not (path / "root").is_dir():
        return None, "root directory missing"
    try:
        digest, count = tree_digest(path / "root")
    except PermissionError as exc:
        return None, f"{UNREADABLE}: {exc.filename}"
    if digest != manifest.get("tree_digest"):
        return None, f"contents changed since it was built ({count} entries now, {manifest.get('entries')} then)"
    return manifest, ""


class RootfsBuilder:
    def __init__(self, cache: Cache, mirror: str | None = None, sink: Sink | None = None):
        self.cache = cache
        self.mirror = mirror
        self.sink = sink

    def ensure(self, target: Target) -> RootFilesystem:
        """The target's root filesystem, built now if it is missing or damaged."""
        key = cache_key(target)
        path = self.cache.entry(KIND, key)
        with self.cache.lock(KIND, key):
            manifest, why = check_entry(path, key)
            if why.startswith(UNREADABLE):
                raise ConfigError(
                    f"the cached root filesystem {path} is {why} (another user built it)",
                    fix="use a cache of your own with --cache-dir (building works unprivileged too), "
                        "or run as the user who built it",
                )
            if manifest is None:
                progress = Progress(f"rootfs {target.name}", self.sink)
                if path.exists():
                    progress.say(f"cache entry {key} is damaged ({why}); rebuilding")
                    try:
                        retire(path)
                    except PermissionError:
                        raise ConfigError(f"the cached root filesystem {path} is damaged ({why}) "
                                          "and this user may not replace it",
                                          fix="use a cache of your own with --cache-dir, or prune it as its owner")
                manifest = self._build(target, key, progress)
        return RootFilesystem(target, key, path, manifest)

    def _build(self, target: Target, key: str, progress: Progress) -> dict:
        if shutil.which("mmdebstrap") is None:
            raise HostSetupError("mmdebstrap is not installed; it builds the root filesystems",
                                 fix="apt-get install mmdebstrap")
        binfmt.require_handler(target)
        mirror = debian_mirror(target.rootfs.suite, self.mirror)
        progress.say(f"building {key} from {mirror} ({len(target.rootfs.packages)} packages and their dependencies)")
        started = time.monotonic()
        with self.cache.staging(KIND, key) as work:
            root = work / "root"
            self._mmdebstrap(target, root, mirror, progress)
            progress.say("finishing natively: accounts, hosts, CA bundle")
            finish_natively(root)
            if (root / "sbin/ldconfig").exists():  # glibc roots; musl has none
                progress.say("ldconfig (emulated)")
                run_in_root(root, ["/sbin/ldconfig"], timeout=target.timeouts.build)
            link_busybox_applets(root, target)
            byte_compile(root, target, progress)
            digest, count = tree_digest(root)
            manifest = {
                "key": key,
                "target": target.name,
                "recipe": recipe(target),
                "mirror": mirror,
                "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "build_seconds": round(time.monotonic() - started, 1),
                "tree_digest": digest,
                "entries": count,
            }
            # Written last: an entry without a manifest is never taken for a finished one.
            (work / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
        progress.say(f"built {key}: {count} entries")
        return manifest

    def _mmdebstrap(self, target: Target, root: Path, mirror: str, progress: Progress) -> None:
        # As root, mmdebstrap mounts into the tree it builds; a private mount namespace makes
        # sure no such mount outlives it, however it is stopped.
        # In its own PID namespace too, with --kill-child: when the harness dies, even by SIGKILL, the
        # kernel's parent-death signal stops unshare, and with it every process of the build, so no
        # orphaned build goes on writing into a tree that prune is removing.
        isolate = (["unshare", "--mount", "--propagation", "private", "--pid", "--fork", "--kill-child"]
                   if os.geteuid() == 0 else [])
        command = [
            *isolate,
            "mmdebstrap",
            "--variant=extract",
            f"--arch={target.debian_arch}",
            f"--include={','.join(sorted(target.rootfs.packages))}",
            target.rootfs.suite,
            str(root),
            sources_line(mirror, target.rootfs.suite),
        ]
        log: list[str] = []
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                   start_new_session=True, preexec_fn=die_with_parent)
        deadline = time.monotonic() + target.timeouts.build
        try:
            assert process.stdout is not None
            for line in process.stdout:
                log.append(line.rstrip())
                if line.startswith("I: "):
                    progress.say("mmdebstrap: " + line[3:].strip())
                if time.monotonic() > deadline:
                    raise ImageBuildError(
                        f"building the {target.name} root filesystem took longer than its {target.timeouts.build:.0f} s budget",
                        fix=f"raise timeouts.build in {target.source.name}, or check the mirror's speed",
                    )
            process.wait()
        finally:
            if process.poll() is None:
                os.killpg(process.pid, 9)
                process.wait()
        if process.returncode != 0:
            tail = "\n    ".join(log[-15:])
            raise ImageBuildError(
                f"mmdebstrap failed for {target.name} (exit {process.returncode}); its last lines:\n    {tail}",
                fix="check the mirror (--debian-mirror) and the package names in " + target.source.name,
            )


def die_with_parent() -> None:
    """In a child before exec: the kernel sends it SIGKILL when the harness exits, however that happens."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")


PR_SET_PDEATHSIG = 1


def finish_natively(root: Path) -> None:
    # Targets get the host's /dev bound in.  Device nodes in the cached tree would only make
    # it unsafe to copy or archive (reading dev/zero never ends) and impossible to unpack unprivileged.
    shutil.rmtree(root / "dev", ignore_errors=True)
    for directory, mode in (("proc", 0o555), ("sys", 0o555), ("dev", 0o755), ("run", 0o755),
                            ("root", 0o700), ("tmp", 0o1777), ("var/tmp", 0o1777)):
        path = root / directory
        path.mkdir(parents=True, exist_ok=True)
        path.chmod(mode)
    masters = root / "usr/share/base-passwd"
    for name in ("passwd", "group"):
        if (masters / f"{name}.master").exists() and not (root / "etc" / name).exists():
            shutil.copyfile(masters / f"{name}.master", root / "etc" / name)
    (root / "etc/hosts").write_text("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n")
    nsswitch = root / "etc/nsswitch.conf"
    if not nsswitch.exists():
        nsswitch.write_text("passwd: files\ngroup: files\nshadow: files\nhosts: files dns\n")
    certificates = sorted((root / "usr/share/ca-certificates").rglob("*.crt"))
    if certificates:
        bundle = root / "etc/ssl/certs/ca-certificates.crt"
        bundle.parent.mkdir(parents=True, exist_ok=True)
        bundle.write_text("".join(c.read_text() for c in certificates))


def link_busybox_applets(root: Path, target: Target) -> None:
    """A root with only busybox-static gets /bin/sh and friends as symlinks."""
    busybox = root / "bin/busybox"
    if not busybox.exists() or (root / "bin/sh").exists():
        return
    applets = run_in_root(root, ["/bin/busybox", "--list-full"], timeout=target.timeouts.build).split()
    if not applets:
        raise ImageBuildError(f"busybox in the {target.name} root did not list its applets",
                              fix="check the busybox-static package of that architecture")
    for applet in applets:
        link = root / applet
        if not link.exists() and not link.is_symlink():
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to("/bin/busybox")


def run_in_root(root: Path, argv: list[str], timeout: float) -> str:
    """Run one build step inside the tree (chroot as root, a user namespace otherwise); its stdout."""
    from .runners.process import host_tool

    chroot = host_tool("chroot", "coreutils")
    prefix = [chroot] if os.geteuid() == 0 else [host_tool("unshare", "util-linux"), "--map-root-user", chroot]
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C.UTF-8", "HOME": "/root"}
    try:
        result = subprocess.run([*prefix, str(root), *argv], capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        raise ImageBuildError(f"build step {' '.join(argv)} did not finish in {timeout:.0f} s")
    if result.returncode != 0:
        raise ImageBuildError(
            f"build step {' '.join(argv)} failed in {root} (exit {result.returncode}): {result.stderr.strip()[-800:]}"
        )
    return result.stdout


def target_python_version(root: Path) -> tuple[int, int] | None:
    versions = [m for p in (root / "usr/lib").glob("python3.*") if (m := re.fullmatch(r"python3\.(\d+)", p.name))]
    return (3, max(int(m.group(1)) for m in versions)) if versions else None


def host_python(version: tuple[int, int]) -> str | None:
    if sys.version_info[:2] == version:
        return sys.executable
    found = shutil.which(f"python{version[0]}.{version[1]}")
    return found


def byte_compile(root: Path, target: Target, progress: Progress) -> None:
    """Compile the target's Python modules once, so no test pays for it under emulation."""
    version = target_python_version(root)
    if version is None:
        return
    directories = [f"/usr/lib/python{version[0]}.{version[1]}", "/usr/lib/python3/dist-packages"]
    directories = [d for d in directories if (root / d.lstrip("/")).is_dir()]
    interpreter = host_python(version)
    if interpreter:
        progress.say(f"byte-compiling Python {version[0]}.{version[1]} natively with {interpreter}")
        command = [interpreter, "-m", "compileall", "-q", "-j0", "-s", str(root), "-p", "/",
                   *(str(root / d.lstrip("/")) for d in directories)]
        result = subprocess.run(command, capture_output=True, text=True, timeout=target.timeouts.build,
                                env={**os.environ, "PYTHONDONTWRITEBYTECODE": ""})
        # compileall exits 1 when some file does not compile (Debian ships a few such test files).
        if result.returncode not in (0, 1):
            raise ImageBuildError(f"byte-compiling failed: {result.stderr.strip()[-800:]}")
        return
    progress.say(f"byte-compiling Python {version[0]}.{version[1]} under emulation (no matching host python)")
    try:
        run_in_root(root, ["/usr/bin/python3", "-m", "compileall", "-q", *directories], timeout=target.timeouts.build)
    except ImageBuildError as exc:
        # Not fatal: uncompiled modules only make the first Python start in each session slower.
        progress.say(f"byte-compiling was incomplete: {exc.problem[:300]}")


def list_entries(cache: Cache) -> list[tuple[Path, dict | None, str]]:
    area = cache.root / KIND
    rows = []
    for path in sorted(area.iterdir()) if area.is_dir() else []:
        if path.is_dir() and not path.name.startswith("."):
            manifest, why = check_entry(path, path.name)
            rows.append((path, manifest, why))
    return rows


def export_entry(cache: Cache, target: Target, archive: Path) -> None:
    """The target's sound cache entry as a tar file that keeps owners and modes (for CI caches)."""
    key = cache_key(target)
    path = cache.entry(KIND, key)
    manifest, why = check_entry(path, key)
    if manifest is None:
        raise ConfigError(f"no sound root filesystem for {target.name} to export ({why})",
                          fix=f"python -m harness images build {target.name}")
    partial = archive.with_name(f".tmp-{archive.name}")
    _tar("-C", str(path.parent), "-cf", str(partial), key)
    os.replace(partial, archive)


def import_entry(cache: Cache, archive: Path) -> Path:
    """Unpack an exported entry into the cache; it is published only if it checks out against its manifest."""
    if not archive.is_file():
        raise ConfigError(f"{archive} does not exist", fix="pass a file written by `images export`")
    listing = subprocess.run(["tar", "-tf", str(archive)], capture_output=True, text=True)
    names = {line.split("/", 1)[0] for line in listing.stdout.splitlines() if line.strip()}
    if listing.returncode != 0 or len(names) != 1:
        raise ConfigError(f"{archive} is not an archive written by `images export`")
    key = names.pop()
    if not re.fullmatch(r"[a-z0-9_]+-[0-9a-f]{24}", key):
        raise ConfigError(f"{archive} holds {key!r}, which is not a root filesystem cache key")
    with cache.lock(KIND, key), cache.staging(KIND, key) as staging:
        _tar("-C", str(staging), "-xpf", str(archive))
        unpacked = staging / key
        manifest, why = check_entry(unpacked, key)
        if manifest is None:
            raise ImageBuildError(f"{archive} holds a damaged root filesystem ({why})", fix="export it again")
        for item in unpacked.iterdir():
            os.rename(item, staging / item.name)
        unpacked.rmdir()
    return cache.entry(KIND, key)


def _tar(*args: str) -> None:
    result = subprocess.run(["tar", "--numeric-owner", *args], capture_output=True, text=True)
    if result.returncode != 0:
        raise ImageBuildError(f"tar {' '.join(args)} failed: {result.stderr.strip()[-500:]}")
