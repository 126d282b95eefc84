"""A real "machine" of a foreign arch for the ssh tier's tests: Debian's own sshd in an emulated root.

The root is the target's Debian root plus openssh-server (and the Essential tools every Debian machine
has), built and cached like any target root.  It runs in namespaces of its own (mount, PID, network):
an overlay over the cached root, so each machine starts clean, and a veth pair whose far end is the
machine's only interface, at 198.18.N.2 (the benchmarking range, RFC 2544: routed nowhere).  sshd and
every command a session starts run through qemu-user, so to the harness the other end really is a
ppc64le (or s390x) machine: `uname -m`, its libc, its binaries.  Host and user keys are made natively
(ssh-keygen under emulation takes seconds).  Nothing reaches beyond this host, and nothing outlives the
machine: the PID namespace's init is the holder, which exits when its pipe from this process closes.
"""

from __future__ import annotations

import dataclasses
import os
import random
import shutil
import socket
import subprocess
import time
from pathlib import Path

from archsmoke.rootfs import RootFilesystem, RootfsBuilder
from archsmoke.tiers.process import new_session_dir, read_line, remove_session_dir

USER, UID = "smoke", 1000
# What a Debian machine has that a target's root leaves out: sshd, setsid (util-linux), mktemp (debianutils).
MACHINE_PACKAGES = ("openssh-server", "util-linux", "debianutils")

_HOLDER = """set -e
hostname "$5"
mount -t overlay overlay -o "lowerdir=$1,upperdir=$2,workdir=$3" "$4"
mount -t proc proc "$4/proc"
mount --rbind /dev "$4/dev"
echo ready
read _ || true
"""

_SSHD_CONFIG = """Port 22
ListenAddress {address}
HostKey /etc/ssh/archsmoke_host_ed25519_key
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
AllowTcpForwarding yes
PidFile /run/sshd.pid
"""


def machine_root(builder: RootfsBuilder, target, without_python: bool = False) -> RootFilesystem:
    """The target's root as a Debian machine with sshd (cached; without_python: no python3 at all)."""
    packages = [p for p in target.rootfs.packages if not (without_python and p.startswith("python3"))]
    recipe = dataclasses.replace(target.rootfs, packages=(*packages, *MACHINE_PACKAGES))
    return builder.ensure(dataclasses.replace(target, rootfs=recipe))


def _free_subnet() -> int:
    used = subprocess.run(["ip", "-4", "-o", "addr"], capture_output=True, text=True, check=True).stdout
    choices = [n for n in range(1, 255) if f" 198.18.{n}." not in used]
    return random.choice(choices)


class EmulatedSshd:
    def __init__(self, root: RootFilesystem, work: Path, user_key: Path | None = None):
        self.root = root
        self.work = work
        work.mkdir(parents=True, exist_ok=True)
        self.subnet = _free_subnet()
        self.address = f"198.18.{self.subnet}.2"
        self.hostname = f"{root.target.name}-machine"
        self._holder: subprocess.Popen | None = None
        self._sshd: subprocess.Popen | None = None
        self._session: Path | None = None
        self.pid: int | None = None
        self.user_key = user_key or work / "id_ed25519"  # made here if missing
        self.known_hosts = work / "known_hosts"

    @property
    def destination(self) -> str:
        return f"{USER}@{self.address}"

    @property
    def merged(self) -> Path:
        assert self._session is not None and self.pid is not None
        return Path(f"/proc/{self.pid}/root{self._session}/merged")

    def path(self, inside: str) -> Path:
        """The host's view of a path on the machine."""
        return self.merged / inside.lstrip("/")

    def start(self) -> EmulatedSshd:
        self._session = new_session_dir("archsmoke-sshd-", None)
        for part in ("upper", "work", "merged"):
            (self._session / part).mkdir()
        self._prepare(self._session / "upper")
        self._holder = subprocess.Popen(
            ["unshare", "--mount", "--propagation", "private", "--pid", "--net", "--uts", "--fork", "--kill-child",
             "/bin/sh", "-c", _HOLDER, "holder", str(self.root.root),
             *(str(self._session / p) for p in ("upper", "work", "merged")), self.hostname],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if read_line(self._holder.stdout, 30).strip() != b"ready":
            self.stop()
            raise RuntimeError("the machine's namespaces did not start")
        children = Path(f"/proc/{self._holder.pid}/task/{self._holder.pid}/children").read_text().split()
        self.pid = int(children[0])
        self._network()
        self._start_sshd("wb")
        return self

    def _start_sshd(self, log_mode: str) -> None:
        with open(self.work / "sshd.log", log_mode) as log:
            self._sshd = subprocess.Popen(
                [*self.enter(), "/usr/sbin/sshd", "-D", "-e", "-f", "/etc/ssh/sshd_config_archsmoke"],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log)
        self._wait_for_port(90)

    def enter(self, net_only: bool = False) -> list[str]:
        assert self.pid is not None and self._session is not None
        if net_only:
            return ["nsenter", f"--target={self.pid}", "--net"]
        return ["nsenter", f"--target={self.pid}", "--mount", "--pid", "--net", "--uts", "--", "chroot",
                str(self._session / "merged")]

    def _prepare(self, upper: Path) -> None:
        lower = self.root.root
        (upper / "etc/ssh").mkdir(parents=True)
        passwd = (lower / "etc/passwd").read_text() + \
            f"sshd:x:101:65534::/run/sshd:/usr/sbin/nologin\n{USER}:x:{UID}:{UID}::/home/{USER}:/bin/sh\n"
        (upper / "etc/passwd").write_text(passwd)
        (upper / "etc/group").write_text((lower / "etc/group").read_text() + f"{USER}:x:{UID}:\n")
        shadow = (lower / "etc/shadow").read_text() if (lower / "etc/shadow").exists() else ""
        (upper / "etc/shadow").write_text(shadow + f"sshd:*:19000:0:99999:7:::\n{USER}:*:19000:0:99999:7:::\n")
        os.chmod(upper / "etc/shadow", 0o640)
        (upper / "etc/ssh/sshd_config_archsmoke").write_text(_SSHD_CONFIG.format(address=self.address))
        host_key = upper / "etc/ssh/archsmoke_host_ed25519_key"
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "machine", "-f", str(host_key)],
                       check=True)
        if not self.user_key.exists():
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "harness", "-f", str(self.user_key)],
                           check=True)
        self.known_hosts_line = f"{self.address} {Path(str(host_key) + '.pub').read_text()}"
        self.known_hosts.write_text(self.known_hosts_line)
        (upper / "run/sshd").mkdir(parents=True)
        ssh_dir = upper / "home" / USER / ".ssh"
        ssh_dir.mkdir(parents=True)
        shutil.copyfile(Path(str(self.user_key) + ".pub"), ssh_dir / "authorized_keys")
        for path in (ssh_dir.parent, ssh_dir, ssh_dir / "authorized_keys"):
            os.chown(path, UID, UID)
        os.chmod(ssh_dir, 0o700)

    def args(self) -> list[str]:
        """archsmoke's options that make this machine its target's ssh machine."""
        return ["--ssh-host", f"{self.root.target.name}={self.destination}", "--ssh-key", str(self.user_key),
                "--ssh-known-hosts", str(self.known_hosts)]

    def new_host_key(self) -> None:
        """The machine "reinstalled": a new host key, which the harness's known_hosts does not hold."""
        key = self.path("/etc/ssh/archsmoke_host_ed25519_key")
        key.unlink()
        Path(str(key) + ".pub").unlink()
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
        self.restart_sshd()

    def restart_sshd(self) -> None:
        assert self._sshd is not None
        subprocess.run([*self.enter(), "/bin/sh", "-c", "kill $(cat /run/sshd.pid)"], check=True)
        self._sshd.wait(timeout=30)  # nsenter waits for sshd
        self._start_sshd("ab")

    def _network(self) -> None:
        for _ in range(10):  # a subnet free when chosen may be taken since by a machine another process starts
            host_end, far_end = f"ash{self.subnet}", f"asn{self.subnet}"
            if subprocess.run(["ip", "link", "add", host_end, "type", "veth", "peer", "name", far_end, "netns",
                               str(self.pid)]).returncode == 0:
                break
            self.subnet = _free_subnet()
            self.address = f"198.18.{self.subnet}.2"
        else:
            raise RuntimeError("no free 198.18.N.0/24 subnet for a veth pair")
        subprocess.run(["ip", "addr", "add", f"198.18.{self.subnet}.1/24", "dev", host_end], check=True)
        subprocess.run(["ip", "link", "set", host_end, "up"], check=True)
        inside = self.enter(net_only=True)
        subprocess.run([*inside, "ip", "addr", "add", f"{self.address}/24", "dev", far_end], check=True)
        subprocess.run([*inside, "ip", "link", "set", far_end, "up"], check=True)
        subprocess.run([*inside, "ip", "link", "set", "lo", "up"], check=True)

    def _wait_for_port(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self._sshd is not None and self._sshd.poll() is not None:
                raise RuntimeError(f"sshd exited: {(self.work / 'sshd.log').read_text(errors='replace')}")
            try:
                with socket.create_connection((self.address, 22), timeout=2) as connection:
                    if connection.recv(64).startswith(b"SSH-"):
                        return
            except OSError:
                time.sleep(0.3)
        raise RuntimeError(f"sshd did not answer on {self.address}:22 within {seconds:.0f} s")

    def processes(self) -> list[str]:
        """Every process on the machine but its holder and sshd's listener, as command lines."""
        found = []
        proc = self.path("/proc")
        for entry in proc.iterdir():
            if not entry.name.isdigit() or entry.name == "1":
                continue
            try:
                line = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
            except OSError:
                continue
            if line and not line.startswith("/usr/sbin/sshd -D") and "sshd_config_archsmoke" not in line:
                found.append(line)
        return found

    def work_dirs(self) -> list[str]:
        base = self.path(f"/home/{USER}/.cache/archsmoke")
        return sorted(p.name for p in base.iterdir()) if base.exists() else []

    def stop(self) -> None:
        if self._holder is not None:  # its exit ends the PID namespace: sshd and every session with it
            try:
                self._holder.communicate(timeout=10)
            except subprocess.TimeoutExpired:
                self._holder.kill()
                self._holder.communicate()
            self._holder = None
        if self._sshd is not None:
            self._sshd.wait(timeout=30)
            self._sshd = None
        if self._session is not None:
            remove_session_dir(self._session)
            self._session = None

    def __enter__(self) -> EmulatedSshd:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def settings_values(args: list[str]) -> dict:
    """The ssh tier's option values (Tier.settings' input) from a run's options, as args() writes them."""
    pairs = list(zip(args[::2], args[1::2]))
    return {"ssh_hosts": [v for k, v in pairs if k == "--ssh-host"],
            "ssh_key": next(v for k, v in pairs if k == "--ssh-key"),
            "ssh_known_hosts": next(v for k, v in pairs if k == "--ssh-known-hosts")}


class Machines:
    """One emulated machine per arch (started on first use), sharing one user key, for a session of tests."""

    def __init__(self, builder: RootfsBuilder, catalog, work: Path):
        self.builder, self.catalog, self.work = builder, catalog, work
        self.user_key = work / "id_ed25519"
        self._started: dict[tuple[str, bool], EmulatedSshd] = {}

    def __call__(self, arch: str, without_python: bool = False) -> EmulatedSshd:
        target = self.catalog.get(arch)
        key = (target.name, without_python)
        if key not in self._started:
            root = machine_root(self.builder, target, without_python)
            name = f"{target.name}{'-nopython' if without_python else ''}"
            self._started[key] = EmulatedSshd(root, self.work / name, self.user_key).start()
        return self._started[key]

    def args(self, *machines: EmulatedSshd) -> list[str]:
        """Options for a run on these machines: one --ssh-host each, the key, one known_hosts for all."""
        known = self.work / f"known_hosts-{'-'.join(m.address for m in machines)}"
        known.write_text("".join(m.known_hosts_line for m in machines))
        hosts = [arg for m in machines for arg in ("--ssh-host", f"{m.root.target.name}={m.destination}")]
        return [*hosts, "--ssh-key", str(self.user_key), "--ssh-known-hosts", str(known)]

    def stop(self) -> None:
        for machine in self._started.values():
            machine.stop()
        self._started.clear()


def main(argv: list[str]) -> int:
    """`python tests/sshd.py ppc64le,s390x -- pytest tests/smoke --runner ssh ...`: the command runs with the
    options of a machine per arch appended (CI's ssh lane; a developer's way to try the tier)."""
    import sys
    import tempfile

    from archsmoke.cache import Cache
    from archsmoke.tiers import load_catalog

    if "--" not in argv or argv.index("--") != 1 or len(argv) < 3:
        print("usage: python tests/sshd.py ARCH[,ARCH...] -- COMMAND [ARGS...]", file=sys.stderr)
        return 2
    arches, command = argv[0].split(","), argv[2:]
    catalog = load_catalog()
    builder = RootfsBuilder(Cache(None), sink=lambda line: print(line, file=sys.stderr, flush=True))
    with tempfile.TemporaryDirectory(prefix="archsmoke-machines-") as work:
        machines = Machines(builder, catalog, Path(work))
        try:
            started = [machines(arch) for arch in arches]
            print(f"machines: {', '.join(f'{m.root.target.name} at {m.destination}' for m in started)}",
                  file=sys.stderr, flush=True)
            return subprocess.run([*command, *machines.args(*started)]).returncode
        finally:
            machines.stop()


if __name__ == "__main__":
    import sys

    sys.exit(main(sys.argv[1:]))
