"""A VM target's kernel and initramfs, from Debian's archive, built once and cached by content.

The kernel package and the target's busybox-static are unpacked with
``mmdebstrap --variant=extract`` (no maintainer scripts, so nothing is
emulated); the cache entry keeps only the kernel image and the initramfs made
from that tree, with the kernel's release and page size in its entry.json.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from ...cache import Cache, content_key, files_verifier, hash_listing
from ...errors import HostSetupError, ImageBuildError
from ...host.mirror import debian_mirror
from ...progress import Progress, Sink
from ...rootfs.build import mmdebstrap_extract
from ...targets import Target
from . import guest, initramfs
from .spec import vm_spec

KIND = "vm-boot"
FORMAT = 1
KERNEL = "kernel"
INITRAMFS = "initramfs.cpio"
# Kernel configs name their page size like this on every arch that has a choice (s390x has none: 4 KiB).
_PAGE_OPTION = re.compile(r"^CONFIG_(?:ARM64_|PPC_|RISCV_|)(4|16|64|256)K_PAGES=y$", re.M)


@dataclass(frozen=True)
class BootFiles:
    key: str
    path: Path
    meta: dict

    @property
    def kernel(self) -> Path:
        return self.path / KERNEL

    @property
    def initramfs(self) -> Path:
        return self.path / INITRAMFS

    @property
    def release(self) -> str:
        return self.meta["kernel_release"]

    @property
    def page_size(self) -> int:
        return self.meta["page_size"]


def recipe(target: Target) -> dict:
    assert vm_spec(target) is not None
    scripts = hashlib.sha256("".join(guest.SCRIPTS.values()).encode()).hexdigest()[:16]
    return {"format": FORMAT, "debian_arch": target.debian_arch, "suite": vm_spec(target).kernel.suite,
            "package": vm_spec(target).kernel.package, "modules": list(vm_spec(target).modules), "guest_scripts": scripts,
            **({"apt_options": list(vm_spec(target).kernel.apt_options)} if vm_spec(target).kernel.apt_options else {})}


def cache_key(target: Target) -> str:
    return f"{target.name}-{content_key(recipe(target))}"


def ensure(target: Target, cache: Cache, mirror: str | None = None, sink: Sink | None = None) -> BootFiles:
    key = cache_key(target)
    progress = Progress(f"kernel {target.name}", sink)
    entry = cache.ensure(KIND, key, build=lambda work: _build(target, work, mirror, progress),
                         verify=_verify,
                         on_damage=lambda why: progress.say(f"cache entry {key} is damaged ({why}); rebuilding"))
    files = BootFiles(key, entry.path, entry.meta)
    _require_page_size(target, files.page_size, files.release)
    return files


def _verify(path: Path, meta: dict) -> str:
    missing = [field for field in ("kernel_release", "page_size") if field not in meta]
    return files_verifier()(path, meta) or (f"entry.json lacks {', '.join(missing)}" if missing else "")


def _require_page_size(target: Target, page_size: int, release: str) -> None:
    if page_size != target.page_size:
        raise ImageBuildError(f"{vm_spec(target).kernel.package} ({release}) runs with {page_size}-byte pages, but "
                              f"{target.source.name} says page_size: {target.page_size}",
                              fix="make page_size the kernel's page size, or choose the kernel package that has it")


def _build(target: Target, work: Path, explicit_mirror: str | None, progress: Progress) -> dict:
    vm = vm_spec(target)
    assert vm is not None
    if shutil.which("mmdebstrap") is None:
        raise HostSetupError("mmdebstrap is not installed; it fetches the VM kernels", fix="apt-get install mmdebstrap")
    mirror = debian_mirror(vm.kernel.suite, explicit_mirror)
    progress.say(f"fetching {vm.kernel.package} and busybox-static ({vm.kernel.suite}, {target.debian_arch}) from {mirror}")
    started = time.monotonic()
    tree, scratch = work / "tree", work / "tmp"
    scratch.mkdir()
    mmdebstrap_extract(target.debian_arch, vm.kernel.suite, (vm.kernel.package, "busybox-static"),
                       vm.kernel.apt_options, tree, mirror, progress, scratch, target.timeouts.build,
                       what=f"the {target.name} VM kernel ({vm.kernel.package})", source=target.source.name)
    kernel, release = _kernel_image(tree, vm.kernel.package)
    page_size = _page_size(tree / "boot" / f"config-{release}")  # checked against the target's by ensure()
    modules_dir = next((d for d in (tree / "lib" / "modules" / release, tree / "usr" / "lib" / "modules" / release)
                        if d.is_dir()), tree / "lib" / "modules" / release)
    modules = initramfs.load_order(vm.modules, modules_dir, vm.kernel.package)
    busybox = next((p for p in (tree / "bin" / "busybox", tree / "usr" / "bin" / "busybox") if p.is_file()),
                   tree / "bin" / "busybox")
    (work / INITRAMFS).write_bytes(initramfs.build(busybox, modules, guest.SCRIPTS))
    shutil.copyfile(kernel, work / KERNEL)
    shutil.rmtree(tree)
    shutil.rmtree(scratch)
    progress.say(f"kernel {release} ({page_size // 1024} KiB pages) and initramfs with {len(modules)} modules ready")
    return {"target": target.name, "recipe": recipe(target), "mirror": mirror, "kernel_release": release,
            "page_size": page_size, "modules": [initramfs.module_name(m) for m in modules],
            "build_seconds": round(time.monotonic() - started, 1), "files": hash_listing(work, [KERNEL, INITRAMFS])}


def _kernel_image(tree: Path, package: str) -> tuple[Path, str]:
    boot = tree / "boot"
    images = sorted(p for p in boot.glob("vmlinu[xz]-*") if p.is_file()) if boot.is_dir() else []
    if not images:
        raise ImageBuildError(f"{package} installed no kernel image (/boot/vmlinux-* or /boot/vmlinuz-*)",
                              fix="name a Debian kernel image package (linux-image-...) in vm.kernel.package")
    image = images[-1]
    return image, image.name.split("-", 1)[1]


def _page_size(config: Path) -> int:
    try:
        text = config.read_text()
    except OSError:
        raise ImageBuildError(f"the kernel has no {config.name} to read its page size from") from None
    found = _PAGE_OPTION.search(text)
    return int(found.group(1)) * 1024 if found else 4096
