"""The first check on every target: the binary starts there and says what it is."""

from archsmoke.binary import expected_triple


def test_uv_reports_its_version(archsmoke, target, uv, arch_target):
    reported = archsmoke.reported_version(target, uv)  # in the test body: a binary that cannot say fails here
    if uv.binary.version:
        assert reported.version == uv.binary.version, f"{uv.binary.origin} reports version {reported.version}"
    # Newer releases print the target triple they were built for; it must be this arch's
    # (and musl for a static build: uv's aarch64 and armv7 wheels carry static musl binaries).
    if reported.triple:
        wanted = expected_triple(uv.binary, arch_target)
        assert reported.triple == wanted, f"binary reports triple {reported.triple}, expected {wanted} on {arch_target.name}"
