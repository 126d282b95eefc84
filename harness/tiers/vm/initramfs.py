"""The VM's initramfs, made natively: the target's busybox-static, the modules the disk needs, and /init.

Debian's kernels keep virtio_blk, ext4 and 9p as modules, and a kernel package
unpacked without its maintainer scripts has no modules.dep: dependencies are
read from each module's own ``.modinfo`` section.  The archive is an
uncompressed cpio (newc), so the emulated kernel spends no time decompressing.
"""

from __future__ import annotations

import gzip
import io
import lzma
import stat
from pathlib import Path

from ...errors import ImageBuildError



# Newer Debian kernels ship modules compressed; they are stored uncompressed, as busybox's insmod needs them.
_DECOMPRESS = {".ko": lambda data: data, ".ko.xz": lzma.decompress, ".ko.gz": gzip.decompress}


def module_name(path: Path) -> str:
    """A module's name from its file (file names use - and _ interchangeably; the kernel says _)."""
    return path.name.split(".ko", 1)[0].replace("-", "_")


def module_data(path: Path) -> bytes:
    suffix = path.name[path.name.index(".ko"):]
    if suffix not in _DECOMPRESS:
        raise ImageBuildError(f"kernel module {path.name} is compressed in a way archsmoke cannot read ({suffix})",
                              fix="use a kernel whose modules are plain, .xz or .gz")
    return _DECOMPRESS[suffix](path.read_bytes())


def module_paths(modules_dir: Path) -> dict[str, Path]:
    return {module_name(path): path for path in modules_dir.rglob("*.ko*")}


def builtin_modules(modules_dir: Path) -> set[str]:
    listing = modules_dir / "modules.builtin"
    if not listing.is_file():
        return set()
    return {module_name(Path(line.strip())) for line in listing.read_text().splitlines() if line.strip()}


def module_depends(path: Path) -> list[str]:
    """The `depends=` of a module's .modinfo (plain strings, NUL-separated; no ELF parsing needed)."""
    data = module_data(path)
    for chunk in data.split(b"\0"):
        if chunk.startswith(b"depends="):
            return [d.replace("-", "_") for d in chunk[len(b"depends="):].decode().split(",") if d]
    return []


def load_order(wanted: tuple[str, ...], modules_dir: Path, package: str) -> list[Path]:
    """The module files to insmod, dependencies first; built-in ones need nothing."""
    available = module_paths(modules_dir)
    builtin = builtin_modules(modules_dir)
    order: list[Path] = []
    visiting: set[str] = set()

    def visit(name: str, needed_by: str | None) -> None:
        name = name.replace("-", "_")
        if name in builtin or name in visiting or available.get(name) in order:
            return
        path = available.get(name)
        if path is None:
            whose = f" (needed by {needed_by})" if needed_by else ""
            raise ImageBuildError(f"kernel module {name!r}{whose} is neither a module nor built into {package}",
                                  fix="correct vm.modules in the target's YAML for this kernel")
        visiting.add(name)
        for dependency in module_depends(path):
            visit(dependency, name)
        order.append(path)

    for name in wanted:
        visit(name, None)
    return order


class Cpio:
    """A newc cpio archive written in memory, the format the kernel unpacks as its first root."""

    def __init__(self) -> None:
        self.buffer = io.BytesIO()
        self.inode = 1

    def _entry(self, name: str, mode: int, data: bytes = b"") -> None:
        encoded = name.encode() + b"\0"
        fields = (self.inode, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(encoded), 0)
        self.inode += 1
        self.buffer.write(b"070701" + b"".join(b"%08X" % f for f in fields) + encoded)
        self._pad()
        self.buffer.write(data)
        self._pad()

    def _pad(self) -> None:
        self.buffer.write(b"\0" * (-self.buffer.tell() % 4))

    def directory(self, name: str) -> None:
        self._entry(name, stat.S_IFDIR | 0o755)

    def file(self, name: str, data: bytes, mode: int = 0o644) -> None:
        self._entry(name, stat.S_IFREG | mode, data)

    def symlink(self, name: str, target: str) -> None:
        self._entry(name, stat.S_IFLNK | 0o777, target.encode())

    def finish(self) -> bytes:
        self._entry("TRAILER!!!", 0)
        return self.buffer.getvalue()


def build(busybox: Path, modules: list[Path], scripts: dict[str, str]) -> bytes:
    """The initramfs; `scripts` are executables at its top (init, the agent, ...) by name."""
    if not busybox.is_file():
        raise ImageBuildError(f"busybox-static did not provide {busybox.name}",
                              fix="check that busybox-static exists for this architecture in the kernel's suite")
    archive = Cpio()
    for directory in ("bin", "dev", "proc", "sys", "tmp", "root", "share", "modules"):
        archive.directory(directory)
    archive.file("bin/busybox", busybox.read_bytes(), 0o755)
    archive.symlink("bin/sh", "busybox")
    for number, module in enumerate(modules):
        # Numbered so that /init loads them in dependency order with a plain glob.
        archive.file(f"modules/{number:03d}-{module_name(module)}.ko", module_data(module))
    for name, text in scripts.items():
        archive.file(name, text.encode(), 0o755)
    return archive.finish()
