"""Root filesystems of the target architectures, built from Debian's archive and cached by content.

A build runs ``mmdebstrap --variant=extract``: it downloads and unpacks the
packages but runs none of their maintainer scripts, which is where most of a
normal foreign-arch bootstrap goes (every postinst under emulation); see
finish.py for what is done instead.
"""

from __future__ import annotations

import ctypes
import dataclasses
import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from ..cache import Cache, content_key
from ..errors import ConfigError, HostSetupError, ImageBuildError
from ..host import binfmt
from ..host.mirror import debian_mirror, sources_line
from ..progress import Progress, Sink
from ..targets import Target
from . import musl_python
from .finish import byte_compile, finish_natively, link_busybox_applets, link_merged_usr, run_in_root
from .tree import tree_digest, verify_tree, write_content_listing

KIND = "rootfs"
# Bump when the build steps change what ends up in a root filesystem.
FORMAT = 7


def recipe(target: Target) -> dict:
    return {
        "format": FORMAT,
        "suite": target.rootfs.suite,
        "debian_arch": target.debian_arch,
        "packages": sorted(target.rootfs.packages),
        "variant": "extract",
        **({"apt_options": list(target.rootfs.apt_options)} if target.rootfs.apt_options else {}),
        **({"python": musl_python.recipe(target)} if target.rootfs.python else {}),
    }


def cache_key(target: Target) -> str:
    return f"{target.name}-{content_key(recipe(target))}"


@dataclass(frozen=True)
class RootFilesystem:
    target: Target
    key: str
    path: Path  # the entry directory; the tree itself is path / "root"
    manifest: dict  # the entry's entry.json: recipe, mirror, tree digest, build time

    @property
    def root(self) -> Path:
        return self.path / "root"

    def describe(self) -> str:
        """For reports: the key, and plainly when the root comes from a suite that is not a release."""
        suite = self.target.rootfs.suite
        return f"root filesystem {self.key}" + (f" (Debian {suite}: unreleased, changes daily)"
                                                 if self.target.rootfs.unreleased else "")


class RootfsBuilder:
    def __init__(self, cache: Cache, mirror: str | None = None, sink: Sink | None = None):
        self.cache = cache
        self.mirror = mirror
        self.sink = sink

    def ensure(self, target: Target) -> RootFilesystem:
        """The target's root filesystem, built now if it is missing or damaged."""
        key = cache_key(target)
        progress = Progress(f"rootfs {target.name}", self.sink)
        entry = self.cache.ensure(
            KIND, key, build=lambda work: self._build(target, key, work, progress), verify=verify_tree,
            on_damage=lambda why: progress.say(f"cache entry {key} is damaged ({why}); rebuilding"))
        return RootFilesystem(target, key, entry.path, entry.meta)

    def _build(self, target: Target, key: str, work: Path, progress: Progress) -> dict:
        if shutil.which("mmdebstrap") is None:
            raise HostSetupError("mmdebstrap is not installed; it builds the root filesystems",
                                 fix="apt-get install mmdebstrap")
        binfmt.require_handler(target)
        mirror = debian_mirror(target.rootfs.suite, self.mirror)
        progress.say(f"building {key} from {mirror} ({len(target.rootfs.packages)} packages and their dependencies)")
        started = time.monotonic()
        root = work / "root"
        # mmdebstrap's own temporaries (its gpghome) live in the staging directory, so an interrupted
        # build leaves nothing in /tmp: the staging directory is removed, or recognised by prune.
        scratch = work / "tmp"
        scratch.mkdir()
        mmdebstrap_extract(target.debian_arch, target.rootfs.suite, target.rootfs.packages, target.rootfs.apt_options,
                           root, mirror, progress, scratch, target.timeouts.build,
                           what=f"the {target.name} root filesystem", source=target.source.name)
        shutil.rmtree(scratch)
        progress.say("finishing natively: accounts, hosts, CA bundle")
        finish_natively(root)
        link_merged_usr(root)
        if (root / "sbin/ldconfig").exists():  # glibc roots; musl has none
            progress.say("ldconfig (emulated)")
            run_in_root(root, ["/sbin/ldconfig"], timeout=target.timeouts.build)
        link_busybox_applets(root, target)
        if target.rootfs.python == "musl":
            sdk = self.ensure(sdk_target(target, musl_python.SDK_PACKAGES))
            tree = musl_python.ensure(target, self.cache, sdk.root, mirror, self.sink)
            progress.say(f"adding the musl CPython built for {target.name}")
            musl_python.install_into(tree, root)
        byte_compile(root, target, progress)
        digest, count = tree_digest(root)
        write_content_listing(work)
        progress.say(f"built {key}: {count} entries")
        return {
            "target": target.name,
            "recipe": recipe(target),
            "mirror": mirror,
            "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "build_seconds": round(time.monotonic() - started, 1),
            "tree_digest": digest,
            "entries": count,
        }


def sdk_target(target: Target, packages: tuple[str, ...]) -> Target:
    """A root of the target's arch and suite holding only `packages` (headers and libraries to build against)."""
    recipe = dataclasses.replace(target.rootfs, packages=packages, python=None)
    return dataclasses.replace(target, name=f"{target.name}-sdk", rootfs=recipe)


def mmdebstrap_extract(debian_arch: str, suite: str, packages, apt_options, out: Path, mirror: str,
                       progress: Progress, scratch: Path, budget: float, what: str, source: str) -> None:
    """Download and unpack packages (and their dependencies) into `out`, running none of their scripts."""
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
        f"--arch={debian_arch}",
        f"--include={','.join(sorted(packages))}",
        *(f"--aptopt={option}" for option in apt_options),
        suite,
        str(out),
        sources_line(mirror, suite),
    ]
    log: list[str] = []
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               start_new_session=True, preexec_fn=die_with_parent,
                               env={**os.environ, "TMPDIR": str(scratch)})
    deadline = time.monotonic() + budget
    try:
        assert process.stdout is not None
        for line in process.stdout:
            log.append(line.rstrip())
            if line.startswith("I: "):
                progress.say("mmdebstrap: " + line[3:].strip())
            if time.monotonic() > deadline:
                raise ImageBuildError(
                    f"building {what} took longer than its {budget:.0f} s budget",
                    fix=f"raise timeouts.build in {source}, or check the mirror's speed",
                )
        process.wait()
    finally:
        if process.poll() is None:
            os.killpg(process.pid, 9)
            process.wait()
    if process.returncode != 0:
        tail = "\n    ".join(log[-15:])
        if any("No space left on device" in line for line in log):  # the disk, not the mirror or the recipe
            raise ConfigError(f"mmdebstrap ran out of space building {what} in {scratch} (No space left on device); "
                              f"its last lines:\n    {tail}",
                              fix="free space there, or choose another with --cache-dir or ARCHSMOKE_CACHE_DIR")
        raise ImageBuildError(
            f"mmdebstrap failed for {what} (exit {process.returncode}); its last lines:\n    {tail}",
            fix="check the mirror (--debian-mirror) and the package names in " + source,
        )


def die_with_parent(how: int = signal.SIGKILL) -> None:
    """In a child before exec: the kernel sends it `how` when the harness exits, however that happens."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, how) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")


PR_SET_PDEATHSIG = 1
