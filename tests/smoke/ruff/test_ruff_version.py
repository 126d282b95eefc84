"""ruff starts on the target and reports the version under test."""


def test_ruff_reports_its_version(archsmoke, target, ruff):
    reported = archsmoke.reported_version(target, ruff)  # in the test body: a binary that cannot say fails here
    if ruff.binary.version:
        assert reported.version == ruff.binary.version, f"{ruff.binary.origin} reports version {reported.version}"
