"""Which Debian mirror a root filesystem is built from: the host's own apt sources, or what the user gave."""

from pathlib import Path

import pytest

from archsmoke.errors import HostSetupError
from archsmoke.host.mirror import ENV_MIRROR, debian_mirror, sources_line

DEB822 = """\
Types: deb
URIs: http://mirror.example/debian/
Suites: bookworm bookworm-updates
Components: main

Types: deb
URIs: http://security.example/debian-security
Suites: bookworm-security
Components: main
"""


def _host(tmp_path: Path, *, sources: str = "", deb822: str = "") -> Path:
    apt = tmp_path / "etc/apt"
    (apt / "sources.list.d").mkdir(parents=True)
    (apt / "sources.list").write_text(sources)
    if deb822:
        (apt / "sources.list.d/debian.sources").write_text(deb822)
    return tmp_path


@pytest.fixture(autouse=True)
def _no_mirror_from_the_environment(monkeypatch):
    monkeypatch.delenv(ENV_MIRROR, raising=False)


def test_the_suites_own_entry_is_used(tmp_path):
    host = _host(tmp_path, sources="# old\ndeb [arch=amd64] http://one.example/debian bookworm main\n"
                                   "deb http://two.example/debian trixie main\n")
    assert debian_mirror("trixie", host_root=host) == "http://two.example/debian"
    assert debian_mirror("bookworm", host_root=host) == "http://one.example/debian"


def test_deb822_sources_are_read(tmp_path):
    assert debian_mirror("bookworm", host_root=_host(tmp_path, deb822=DEB822)) == "http://mirror.example/debian"


def test_a_suite_the_host_does_not_list_comes_from_its_debian_archive_not_the_security_one(tmp_path):
    """A bookworm host builds riscv64's sid root: one Debian archive serves every suite."""
    assert debian_mirror("sid", host_root=_host(tmp_path, deb822=DEB822)) == "http://mirror.example/debian"


def test_disabled_and_non_http_entries_are_not_used(tmp_path):
    deb822 = DEB822.replace("Components: main\n", "Components: main\nEnabled: no\n", 1)
    host = _host(tmp_path, sources="deb file:/srv/debian sid main\n", deb822=deb822)
    with pytest.raises(HostSetupError) as caught:
        debian_mirror("sid", host_root=host)
    assert "no Debian mirror for suite 'sid'" in str(caught.value)
    assert "--debian-mirror URL" in str(caught.value) and ENV_MIRROR in str(caught.value)


def test_given_mirror_wins(tmp_path, monkeypatch):
    host = _host(tmp_path, deb822=DEB822)
    assert debian_mirror("sid", "http://given.example/debian/", host_root=host) == "http://given.example/debian"
    monkeypatch.setenv(ENV_MIRROR, "http://env.example/debian")
    assert debian_mirror("sid", host_root=host) == "http://env.example/debian"
    assert sources_line("http://env.example/debian", "sid") == "deb http://env.example/debian sid main"
