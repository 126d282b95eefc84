"""The first check on every target: the binary starts there and says what it is."""

import re

from harness.binary import expected_triple


def test_uv_reports_its_version(target, uv, archsmoke, arch_target):
    result = target.run(uv.command("--version"), env=uv.env).check()
    match = re.fullmatch(r"uv (\S+)(?: \(([^)]*)\))?", result.stdout.strip().splitlines()[0])
    assert match, f"unexpected `uv --version` output: {result.stdout!r}"
    version, details = match.groups()
    archsmoke.records[arch_target.name].reported_version = version
    if uv.binary.version:
        assert version == uv.binary.version, f"{uv.binary.origin} reports version {version}"
    # Newer releases print the target triple they were built for; it must be this arch's
    # (and musl for a static build: uv's aarch64 and armv7 wheels carry static musl binaries).
    triple = next((word for word in (details or "").split() if word.count("-") >= 2), None)
    if triple:
        wanted = expected_triple(uv.binary, arch_target)
        assert triple == wanted, f"binary reports triple {triple}, expected {wanted} on {arch_target.name}"
