"""The qemu-user tier: foreign-arch root filesystems entered through binfmt_misc (the fast everyday tier)."""

from ..host_kernel import HostKernelTier
from .runner import QemuUserRunner


class QemuUserTier(HostKernelTier):
    name = "qemu-user"
    runner = QemuUserRunner

    @classmethod
    def describe(cls, settings) -> str:
        return "qemu-user (chroot through binfmt_misc, the host's kernel and 4 KiB pages)"


__all__ = ["QemuUserRunner", "QemuUserTier"]
