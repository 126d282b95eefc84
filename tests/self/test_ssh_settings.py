"""The ssh tier's settings alone (pure): how machines are written and resolved to the run's targets."""

import pytest

from archsmoke.errors import ConfigError
from archsmoke.tiers.ssh.settings import Machine, SshSettings, parse_destination


@pytest.mark.parametrize(("text", "machine"), [
    ("power9.example.org", Machine("power9.example.org")),
    ("ci@power9.example.org", Machine("power9.example.org", "ci")),
    ("ci@10.1.2.3:2222", Machine("10.1.2.3", "ci", 2222)),
    ("ci@[2001:db8::1]:22", Machine("2001:db8::1", "ci", 22)),
    ("[2001:db8::1]", Machine("2001:db8::1")),
])
def test_ssh_destinations_are_read(text, machine):
    assert parse_destination(text, "--ssh-host") == machine


@pytest.mark.parametrize("text", ["", "ci@", "@host", "ci@host:0", "ci@host:65536", "ci@host:port", "a b@host",
                                  "ci@2001:db8::1", "-oProxyCommand=touch /tmp/x", "-p", "ci@-host", "-ci@host",
                                  "ci@host;id", "$(id)@host", "ci@`id`", "ci@host|x", "ci@ho\nst", "ci@host&",
                                  "ci@host>x", "c'i@host", 'ci@"host"'])
def test_ssh_bad_destinations_are_refused(text):
    with pytest.raises(ConfigError, match=r"is not \[USER@\]HOST\[:PORT\]"):
        parse_destination(text, "--ssh-host")


def test_how_to_try_a_machine_by_hand_is_what_ssh_takes():
    assert parse_destination("root@127.0.0.1:2222", "x").ssh_command == "ssh -p 2222 root@127.0.0.1"
    assert parse_destination("ci@[2001:db8::1]", "x").ssh_command == "ssh ci@2001:db8::1"


def test_ssh_machines_resolve_by_alias_and_a_file(catalog, tmp_path):
    hosts = tmp_path / "hosts.yaml"
    hosts.write_text("s390x: ci@z15.example.org:2222\n")
    settings = SshSettings.parse(["ppc64el=ci@power9"], str(hosts), None, None)
    targets = [catalog.get("ppc64le"), catalog.get("s390x")]
    settings.resolve(catalog, targets)
    assert settings.machines == {"ppc64le": Machine("power9", "ci"), "s390x": Machine("z15.example.org", "ci", 2222)}
    assert settings.describe() == "ppc64le on ci@power9, s390x on ci@z15.example.org:2222"


def test_ssh_hosts_file_that_is_not_yaml_is_refused(tmp_path):
    hosts = tmp_path / "hosts.yaml"
    hosts.write_text("ppc64le: [unclosed\n")
    with pytest.raises(ConfigError, match="is not YAML"):
        SshSettings.parse(None, str(hosts), None, None)
