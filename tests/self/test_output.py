"""Where a command's output goes (tiers/output.py), with small limits; the tiers' own floods are in test_containment.py."""

from __future__ import annotations

import pytest

from archsmoke.tiers import output
from archsmoke.tiers.output import StreamCapture, from_file


@pytest.fixture(autouse=True)
def small_limits(monkeypatch):
    monkeypatch.setattr(output, "MEMORY_LIMIT", 10)
    monkeypatch.setattr(output, "FILE_LIMIT", 25)


def _fed(capture: StreamCapture, *chunks: bytes) -> tuple[bytes, object]:
    for chunk in chunks:
        capture.write(chunk)
    return capture.finish()


def test_a_stream_that_fits_stays_in_memory_and_makes_no_file(tmp_path):
    spill = tmp_path / "1.stdout"
    assert _fed(StreamCapture(spill), b"12345", b"67890") == (b"1234567890", None)
    assert not spill.exists()


def test_a_larger_stream_goes_to_its_file_and_memory_keeps_its_tail(tmp_path):
    spill = tmp_path / "out" / "1.stdout"
    kept, path = _fed(StreamCapture(spill), b"abcdefgh", b"ijklmnop", b"qrst")
    assert path == spill and spill.read_bytes() == b"abcdefghijklmnopqrst"
    note = f"[archsmoke: this output was 20 bytes; all but its last 10 are in {spill} (the first 20 of them)]\n"
    assert kept == note.encode() + b"klmnopqrst"


def test_the_file_is_cut_at_its_limit_and_says_how_much_more_there_was(tmp_path):
    spill = tmp_path / "1.stdout"
    kept, _ = _fed(StreamCapture(spill), b"x" * 20, b"y" * 20)
    assert spill.read_bytes() == b"x" * 20 + b"y" * 5 + b"\n[archsmoke: 15 more bytes of this output were not kept]\n"
    assert kept.endswith(b"]\n" + b"y" * 10) and b"(the first 25 of them)" in kept


def test_without_a_file_only_the_tail_is_kept():
    kept, path = _fed(StreamCapture(None), b"a" * 30, b"b" * 5)
    assert path is None
    assert kept == b"[archsmoke: this output was 35 bytes; all but its last 10 are not kept (the first 25 of them)]\n" \
                   + b"a" * 5 + b"b" * 5


def test_a_file_another_process_wrote_is_read_whole_or_moved_and_cut(tmp_path):
    small, large, spill = tmp_path / "small", tmp_path / "large", tmp_path / "area" / "2.stdout"
    small.write_bytes(b"short")
    large.write_bytes(b"0123456789" * 3 + b"tail!")
    assert from_file(small, spill) == (b"short", None) and small.exists() and not spill.exists()
    kept, path = from_file(large, spill)
    assert path == spill and not large.exists()
    assert kept.endswith(b"]\n56789tail!") and b"this output was 35 bytes" in kept
    assert spill.read_bytes() == b"0123456789" * 2 + b"01234" + b"\n[archsmoke: 10 more bytes of this output were not kept]\n"


def test_a_link_left_where_the_output_should_be_is_refused(tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("the host's")
    (tmp_path / "stdout").symlink_to(secret)
    with pytest.raises(OSError):
        from_file(tmp_path / "stdout", tmp_path / "area" / "1.stdout")
