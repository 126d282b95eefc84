"""What runs inside the VM: /init (mounts the root disk and the share), the sandbox, and the agent.

All three are busybox shell scripts in the initramfs, so they work the same on
every root filesystem, with or without Python, glibc or musl.  The agent stays
in the initramfs, outside the target.

The build under test is untrusted and runs as root in the target, so it runs in
a sandbox set up once per boot by the sandbox script: mount and PID namespaces
in which the share, the VM's own /dev (its consoles, its disk) and the first
/proc are gone; the target's root with a /dev of its own (null, zero, full,
random, urandom, tty, a private pts and shm), /sys and the /proc files that
reach the kernel read-only; and a user namespace that maps every id to itself,
so files behave as for root while no capability reaches beyond it (no device
nodes, no mounts of the VM's file systems, no modules, no sysctls, no tracing of
the agent).  Every command enters it with nsenter, in WORK_DIR.

The console carries only short control lines, framed by markers as labgrid's
ShellDriver frames them: the host writes ``run ID BUDGET NONCE``; the agent runs
the script the host left in the share's ``cmd/ID`` directory, its stdin, stdout
and stderr being files there, and answers ``@@archsmoke-done ID CODE NONCE@@``.
The nonce is new for each command and exists only on the console and in the
agent's memory, neither of which the sandbox reaches: a program that prints a
frame of its own cannot end a command, let alone with another result.  A
command past its budget is killed with its whole process group by the agent
itself, so the target stays usable.  Files move through the share
(virtio-9p), at disk speed, never through the serial line.
"""

from __future__ import annotations

from ..base import WORK_DIR

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
ip link set lo up
if ip link set eth0 up 2>/dev/null; then
  ip addr add {GUEST_ADDRESS}/24 dev eth0 && ip route add default via {HOST_GATEWAY}
fi
hostname archsmoke-vm
exec /agent
"""

# Run as PID 1 of a fresh PID namespace, in a mount namespace of its own (both the VM root's, so the build cannot
# undo their mounts).  The sandbox's process ends as its only child: in a user namespace with the identity map, and
# in UTS, IPC and mount namespaces of that user namespace; its mount namespace is a copy of this one, so every
# mount in it is locked, and the initramfs is read-only there.  Its root is the target's and its working directory
# WORK_DIR: commands take both (see ENTER).  Prints `ready` once it is there.
SANDBOX = f"""#!/bin/sh
set -e
export PATH=/bin
t=/root
umount -l /share
mount -t proc -o nosuid,nodev,noexec proc $t/proc
for entry in sys sysrq-trigger irq bus fs; do
  if [ -e "$t/proc/$entry" ]; then
    mount --bind "$t/proc/$entry" "$t/proc/$entry"
    mount -o remount,bind,ro "$t/proc/$entry"
  fi
done
mount -t sysfs -o ro,nosuid,nodev,noexec sysfs $t/sys
mount -t tmpfs -o nosuid,mode=755,size=1m archsmoke-dev $t/dev
mknod -m 666 $t/dev/null c 1 3
mknod -m 666 $t/dev/zero c 1 5
mknod -m 666 $t/dev/full c 1 7
mknod -m 666 $t/dev/random c 1 8
mknod -m 666 $t/dev/urandom c 1 9
mknod -m 666 $t/dev/tty c 5 0
mkdir $t/dev/pts $t/dev/shm
mount -t devpts -o newinstance,ptmxmode=0666,mode=620 devpts $t/dev/pts
ln -s pts/ptmx $t/dev/ptmx
mount -t tmpfs -o nosuid,nodev,mode=1777 archsmoke-shm $t/dev/shm
ln -s /proc/self/fd $t/dev/fd
ln -s /proc/self/fd/0 $t/dev/stdin
ln -s /proc/self/fd/1 $t/dev/stdout
ln -s /proc/self/fd/2 $t/dev/stderr
mount -t tmpfs -o nosuid,nodev,mode=755 tmpfs $t/run
mkdir -p $t{WORK_DIR}
chmod 1777 $t{WORK_DIR}
umount -l /dev /sys
mount -t tmpfs -o size=4k,mode=755 archsmoke-null /dev  # a shell's background job needs /dev/null
mknod -m 666 /dev/null c 1 3
mount -o remount,ro /dev
mount -o remount,bind,ro /
umount -l /proc
unshare -U sleep 2147483647 &
holder=$!
while [ "$(readlink $t/proc/$holder/ns/user)" = "$(readlink $t/proc/self/ns/user)" ]; do sleep 0.01; done
echo "0 0 4294967295" > $t/proc/$holder/uid_map
echo "0 0 4294967295" > $t/proc/$holder/gid_map
nsenter -U$t/proc/$holder/ns/user -- unshare -m -u -i --propagation private -- \\
  chroot $t /bin/sh -c 'cd {WORK_DIR} && exec sleep 2147483647' &
sandbox=$!
until [ "$(readlink $t/proc/$sandbox/ns/user)" = "$(readlink $t/proc/$holder/ns/user)" ] \\
    && [ "$(cat $t/proc/$sandbox/comm)" = sleep ]; do
  kill -0 $sandbox
  sleep 0.01
done
kill $holder
wait $holder || true
echo ready
set +e
wait $sandbox
"""

# How a command enters the sandbox whose process is $1 (a PID of the VM's): its PID namespace first, while still
# the VM's root (the namespace is the VM root's), then the rest, which belong to the sandbox's user namespace.
ENTER = '/bin/nsenter -t "$1" -p -- /bin/nsenter -t "$1" -U -m -u -i -r -w --'

AGENT = f"""#!/bin/sh
export PATH=/bin
stty -echo -onlcr 2>/dev/null
echo 4 > /proc/sys/kernel/printk
page=$(grep -m1 KernelPageSize /proc/self/smaps | tr -s ' ' | cut -d' ' -f2)
mkfifo /sandbox.out
unshare -m -p -f --propagation private /bin/sh /sandbox > /sandbox.out 2>&1 &
starter=$!
exec 3< /sandbox.out
rm -f /sandbox.out
said=""
while read -r line <&3; do
  [ "$line" = ready ] && break
  said="$said $line"
done
[ "$line" = ready ] || {{ echo "{FAILED} the sandbox could not be set up:$said@@"; sleep 1; poweroff -f; }}
exec 3<&-
children() {{
  for stat in /proc/[0-9]*/stat; do
    read -r pid comm state parent rest < "$stat" 2>/dev/null && [ "$parent" = "$1" ] && echo "$pid"
  done
}}
# Killed, the sandbox may still be a zombie for a moment (kill -0 would say it lives), or still running on its way
# out: a SIGKILL pending (SigPnd/ShdPnd bit 8), or exiting (PF_EXITING, 0x4 in stat's flags).
alive() {{
  while read -r key value rest; do
    case "$key" in
      State:) case "$value" in [RSDTt]) ;; *) return 1 ;; esac ;;
      SigPnd:|ShdPnd:) [ $((0x$value & 0x100)) -eq 0 ] || return 1 ;;
    esac
  done < "/proc/$1/status" 2>/dev/null || return 1
  read -r pid comm state parent group session tty foreground flags rest < "/proc/$1/stat" 2>/dev/null || return 1
  [ $((flags & 0x4)) -eq 0 ]
}}
first=$(children $starter)
sandbox=$(children $first)
echo "{READY} $(uname -r) $(uname -m) ${{page}}@@"
while read -r verb id budget nonce; do
  case "$verb" in
    run)
      dir=/share/cmd/$id
      setsid sh "$dir/script" "$sandbox" < "$dir/stdin" > "$dir/stdout" 2> "$dir/stderr" &
      pid=$!
      ( sleep "$budget"; touch "$dir/timed-out"; kill -KILL -"$pid" ) 2>/dev/null &
      watchdog=$!
      wait "$pid"
      code=$?
      kill "$watchdog" 2>/dev/null
      alive "$sandbox" || code=sandbox-gone
      echo "{DONE} $id $code $nonce@@"
      ;;
    poweroff)
      sync; poweroff -f
      ;;
  esac
done
poweroff -f
"""

SCRIPTS = {"init": INIT, "sandbox": SANDBOX, "agent": AGENT}
