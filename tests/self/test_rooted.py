"""Copies in and out of a target's tree resolve its symlinks inside it, as the target's kernel would: a build under
test that plants links must not make the host read or write its own files (harness/tiers/rooted.py)."""

from __future__ import annotations

import errno
import os

import pytest

from archsmoke.tiers import rooted


@pytest.fixture
def tree(tmp_path):
    """A target's root beside a host directory holding a secret."""
    root, host = tmp_path / "root", tmp_path / "host"
    (root / "etc").mkdir(parents=True)
    (root / "tmp").mkdir()
    host.mkdir()
    (host / "secret").write_text("the host's")
    (root / "etc" / "secret").write_text("the target's")
    return root, host


@pytest.mark.parametrize("link", ["{host}/secret", "../../host/secret", "../../../../../../../..{host}/secret",
                                  "/../../../etc/secret", "/etc/secret"])
def test_a_planted_link_is_read_inside_the_root(tree, tmp_path, link):
    root, host = tree
    os.symlink(link.format(host=host), root / "tmp" / "out")
    out = tmp_path / "copied"
    try:
        rooted.copy_out(root, "/tmp/out", out)
    except FileNotFoundError:
        return  # the link leads nowhere inside the root: nothing is copied
    assert out.read_text() == "the target's"


@pytest.mark.parametrize("link", ["{host}", "../../host", "/../../..{host}"])
def test_a_planted_directory_link_is_written_inside_the_root(tree, tmp_path, link):
    root, host = tree
    os.symlink(link.format(host=host), root / "tmp" / "dir")
    source = tmp_path / "source"
    source.write_text("new")
    rooted.copy_into(root, source, "/tmp/dir/secret", 0o640)
    assert (host / "secret").read_text() == "the host's"
    written = [p for p in root.rglob("secret") if p.read_text() == "new"]
    assert len(written) == 1 and oct(written[0].stat().st_mode & 0o777) == "0o640", written


def test_a_link_as_the_destination_is_followed_inside_the_root(tree, tmp_path):
    root, host = tree
    os.symlink(str(host / "secret"), root / "tmp" / "dest")
    source = tmp_path / "source"
    source.write_text("new")
    rooted.copy_into(root, source, "/tmp/dest", 0o644)
    assert (host / "secret").read_text() == "the host's"
    assert (root / host.relative_to("/") / "secret").read_text() == "new"  # made inside the root, where it points


def test_parents_are_made_and_modes_set(tree, tmp_path):
    root, _ = tree
    source = tmp_path / "source"
    source.write_bytes(os.urandom(3 << 20))
    rooted.copy_into(root, source, "/opt/a/b/tool", 0o751)
    assert (root / "opt/a/b/tool").read_bytes() == source.read_bytes()
    assert (root / "opt/a/b/tool").stat().st_mode & 0o777 == 0o751


def test_loops_and_files_on_the_way_are_errors(tree, tmp_path):
    root, _ = tree
    os.symlink("loop", root / "tmp" / "loop")
    with pytest.raises(OSError) as raised:
        rooted.copy_out(root, "/tmp/loop", tmp_path / "x")
    assert raised.value.errno == errno.ELOOP
    with pytest.raises(NotADirectoryError):
        rooted.copy_out(root, "/etc/secret/below", tmp_path / "x")
    os.mkfifo(root / "tmp" / "fifo")
    with pytest.raises(OSError, match="not a regular file"):  # and no hang on the FIFO
        rooted.copy_out(root, "/tmp/fifo", tmp_path / "x")
