"""What runs inside the VM: /init (mounts the root disk and the share) and the agent that runs commands.

Both are busybox shell scripts in the initramfs, so they work the same on every
root filesystem, with or without Python, glibc or musl.  The agent stays in the
initramfs and enters the root disk with chroot for each command, as the
qemu-user tier does on the host's kernel.

The console carries only short control lines, framed by markers as labgrid's
ShellDriver frames them: the host writes ``run ID BUDGET``; the agent runs the
script the host left in the share's ``cmd/ID`` directory, its stdin, stdout
and stderr being files there, and answers ``@@archsmoke-done ID CODE@@``.  A
command past its budget is killed with its whole process group by the agent
itself, so the target stays usable.  Files move through the share (virtio-9p),
at disk speed, never through the serial line.
"""

from __future__ import annotations

READY = "@@archsmoke-ready"
DONE = "@@archsmoke-done"
FAILED = "@@archsmoke-failed"
SHARE_TAG = "archsmoke"
# QEMU's user-mode network: the guest's address and the gateway through which it reaches the host's loopback.
GUEST_ADDRESS = "10.0.2.15"
HOST_GATEWAY = "10.0.2.2"

INIT = f"""#!/bin/sh
/bin/busybox mount -t proc proc /proc
/bin/busybox --install -s /bin
export PATH=/bin
mount -t devtmpfs devtmpfs /dev
mount -t sysfs sysfs /sys
fail() {{ echo "{FAILED} $*@@"; sleep 1; poweroff -f; }}
for module in /modules/*.ko; do
  insmod "$module" || echo "archsmoke: insmod $module failed"
done
waited=0
while [ ! -b /dev/vda ]; do
  [ "$waited" -ge 100 ] && fail "no root disk: /dev/vda did not appear (is virtio_blk in vm.modules?)"
  sleep 0.1; waited=$((waited + 1))
done
mkdir -p /root
mount -t ext4 /dev/vda /root || fail "cannot mount the root disk /dev/vda as ext4"
mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000,cache=none {SHARE_TAG} /share \\
  || fail "cannot mount the host share (9p over virtio; are 9p and 9pnet_virtio in vm.modules?)"
mount -t proc proc /root/proc
mount -t sysfs sysfs /root/sys
mount -o bind /dev /root/dev
mkdir -p /root/dev/pts /root/dev/shm && mount -t devpts devpts /root/dev/pts && mount -t tmpfs tmpfs /root/dev/shm
mount -t tmpfs tmpfs /root/run
ip link set lo up
if ip link set eth0 up 2>/dev/null; then
  ip addr add {GUEST_ADDRESS}/24 dev eth0 && ip route add default via {HOST_GATEWAY}
fi
hostname archsmoke-vm
exec /agent
"""

AGENT = f"""#!/bin/sh
export PATH=/bin
stty -echo -onlcr 2>/dev/null
echo 4 > /proc/sys/kernel/printk
page=$(grep -m1 KernelPageSize /proc/self/smaps | tr -s ' ' | cut -d' ' -f2)
echo "{READY} $(uname -r) $(uname -m) ${{page}}@@"
while read -r verb id budget; do
  case "$verb" in
    run)
      dir=/share/cmd/$id
      setsid sh "$dir/script" < "$dir/stdin" > "$dir/stdout" 2> "$dir/stderr" &
      pid=$!
      ( sleep "$budget"; touch "$dir/timed-out"; kill -KILL -"$pid" ) 2>/dev/null &
      watchdog=$!
      wait "$pid"
      code=$?
      kill "$watchdog" 2>/dev/null
      echo "{DONE} $id $code@@"
      ;;
    poweroff)
      sync; poweroff -f
      ;;
  esac
done
poweroff -f
"""
