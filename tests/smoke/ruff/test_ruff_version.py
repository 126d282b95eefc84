"""ruff starts on the target and reports the version under test."""


def test_ruff_reports_its_version(ruff, reported_version):
    assert reported_version.version, reported_version
    if ruff.binary.version:
        assert reported_version.version == ruff.binary.version, \
            f"{ruff.binary.origin} reports version {reported_version.version}"
