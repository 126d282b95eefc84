"""Python run inside a target as root by the containment tests: helpers that try a privileged call and record what
the kernel answered (`attempt(name, action)` sets out[name] to "done" or the errno's name)."""

PREAMBLE = r"""
import ctypes, errno, json, os
out = {}
def attempt(name, action):
    try:
        action()
        out[name] = "done"
    except OSError as error:
        out[name] = errno.errorcode.get(error.errno, str(error.errno))
libc = ctypes.CDLL(None, use_errno=True)
def call(result):
    if result != 0:
        raise OSError(ctypes.get_errno(), "call")
def mount(source, target, fstype, flags=0):
    os.makedirs(target, exist_ok=True)
    call(libc.mount(source and source.encode(), target.encode(), fstype and fstype.encode(), flags, None))
"""

# The classic chroot escape, as root: a chroot below, then `..` past it, then a chroot there; what lies beyond the
# target's root is then "/".
ESCAPE = r"""
os.makedirs("/tmp/escape", exist_ok=True)
os.chroot("/tmp/escape")
for _ in range(64):
    os.chdir("..")
os.chroot(".")
out["beyond_root"] = sorted(os.listdir("/"))
"""
