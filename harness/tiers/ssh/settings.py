"""Which machine runs each target on the SSH tier, and how to reach it: --ssh-host, --ssh-hosts, keys."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from ...errors import ConfigError

# User and host as ssh and DNS spell them: nothing ssh would read as an option (a leading '-') or a shell would
# read at all (the names reach error messages as commands to try).
_NAME = r"[A-Za-z0-9_][A-Za-z0-9._-]*"
_DESTINATION = re.compile(rf"^(?:(?P<user>{_NAME})@)?(?:\[(?P<v6>[0-9A-Fa-f:.]+)\]|(?P<host>{_NAME}))"
                          r"(?::(?P<port>\d+))?$")
_FORMAT = "ARCH=[USER@]HOST[:PORT]"


@dataclass(frozen=True)
class Machine:
    """One machine reached over SSH (the user's ssh config may add to it: ProxyJump, a User, a Port)."""

    host: str
    user: str | None = None
    port: int | None = None

    @property
    def destination(self) -> str:
        return f"{self.user}@{self.host}" if self.user else self.host

    @property
    def ssh_command(self) -> str:
        """How to reach it with ssh by hand (ssh takes the port as -p, not after a colon)."""
        return "ssh " + (f"-p {self.port} " if self.port else "") + self.destination

    def describe(self) -> str:
        host = f"[{self.host}]" if ":" in self.host and self.port else self.host
        return (f"{self.user}@" if self.user else "") + host + (f":{self.port}" if self.port else "")


def parse_destination(text: str, said: str) -> Machine:
    match = _DESTINATION.match(text.strip())
    port = int(match["port"]) if match and match["port"] else None
    if match is None or (port is not None and not 0 < port < 65536):
        raise ConfigError(f"{said}: {text!r} is not [USER@]HOST[:PORT]",
                          fix="write the machine as user@host, user@host:2222 or user@[2001:db8::1]:22")
    return Machine(host=match["v6"] or match["host"], user=match["user"], port=port)


@dataclass
class SshSettings:
    given: dict[str, tuple[Machine, str]] = field(default_factory=dict)  # name as written -> machine, where said
    identity: Path | None = None  # -i; else the user's ssh config and agent decide
    known_hosts: Path | None = None  # else the user's own known_hosts files
    machines: dict[str, Machine] = field(default_factory=dict)  # target name -> machine, once resolved

    @classmethod
    def parse(cls, hosts: list[str] | None, hosts_file: str | None, key: str | None,
              known_hosts: str | None) -> SshSettings:
        settings = cls(identity=_existing_file(key, "--ssh-key"),
                       known_hosts=_existing_file(known_hosts, "--ssh-known-hosts"))
        if hosts_file is not None:
            for name, text in _read_hosts_file(Path(hosts_file)).items():
                settings._add(name, text, f"{hosts_file}: {name}")
        for value in hosts or []:
            name, sep, text = value.partition("=")
            if not sep or not name.strip():
                raise ConfigError(f"--ssh-host {value!r} names no arch", fix=f"--ssh-host {_FORMAT}, e.g. "
                                  "--ssh-host ppc64le=ci@power9.example.org")
            settings._add(name.strip(), text, f"--ssh-host {value}")
        return settings

    def _add(self, name: str, text: str, said: str) -> None:
        machine = parse_destination(text, said)
        if name in self.given and self.given[name][0] != machine:
            raise ConfigError(f"two machines for {name}: {self.given[name][0].describe()} ({self.given[name][1]}) "
                              f"and {machine.describe()} ({said})", fix="give each arch one machine")
        self.given[name] = (machine, said)

    def resolve(self, catalog, targets) -> None:
        """Each name given must be a target of this run; each target of this run must have a machine."""
        for name, (machine, said) in self.given.items():
            target = catalog.get(name)  # an unknown arch is a ConfigError naming the known ones
            if target not in targets:
                raise ConfigError(f"{said}: {target.name} is not among this run's targets "
                                  f"({', '.join(t.name for t in targets)})",
                                  fix=f"add --arch {target.name}, or drop that machine")
            earlier = self.machines.get(target.name)
            if earlier is not None and earlier != machine:
                raise ConfigError(f"two machines for {target.name}: {earlier.describe()} and {machine.describe()} "
                                  f"({said})", fix="give each arch one machine")
            self.machines[target.name] = machine
        self.machines = {t.name: self.machines[t.name] for t in targets if t.name in self.machines}  # run's order
        missing = [t.name for t in targets if t.name not in self.machines]
        if missing:
            raise ConfigError(f"the ssh tier has no machine for {', '.join(missing)}",
                              fix=" ".join(f"--ssh-host {name}=USER@HOST" for name in missing)
                              + " (or list them in a --ssh-hosts file), or leave those arches out of --arch")

    @property
    def ssh_command(self) -> str:
        """How to reach it with ssh by hand (ssh takes the port as -p, not after a colon)."""
        return "ssh " + (f"-p {self.port} " if self.port else "") + self.destination

    def describe(self) -> str:
        return ", ".join(f"{name} on {machine.describe()}" for name, machine in self.machines.items()) or "no machines"


def _existing_file(value: str | None, flag: str) -> Path | None:
    if value is None:
        return None
    path = Path(value).expanduser()
    if not path.is_file():
        raise ConfigError(f"{flag} {value}: no such file", fix=f"give {flag} an existing file")
    return path.resolve()


def _read_hosts_file(path: Path) -> dict[str, str]:
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as error:
        raise ConfigError(f"--ssh-hosts {path}: {error.strerror or error}", fix="name a readable file") from None
    except yaml.YAMLError as error:
        raise ConfigError(f"--ssh-hosts {path} is not YAML: {str(error).splitlines()[0]}",
                          fix="write one line per arch: `ppc64le: ci@power9.example.org:22`") from None
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise ConfigError(f"--ssh-hosts {path} must map arches to machines",
                          fix="write one line per arch: `ppc64le: ci@power9.example.org:22`")
    return {str(name): value for name, value in data.items()}
