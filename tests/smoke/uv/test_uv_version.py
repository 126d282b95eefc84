"""The first check on every target: the binary starts there and says what it is."""

from archsmoke.binary import expected_triple


def test_uv_reports_its_version(uv, reported_version, arch_target):
    if uv.binary.version:
        assert reported_version.version == uv.binary.version, \
            f"{uv.binary.origin} reports version {reported_version.version}"
    # Newer releases print the target triple they were built for; it must be this arch's
    # (and musl for a static build: uv's aarch64 and armv7 wheels carry static musl binaries).
    if reported_version.triple:
        wanted = expected_triple(uv.binary, arch_target)
        assert reported_version.triple == wanted, \
            f"binary reports triple {reported_version.triple}, expected {wanted} on {arch_target.name}"
