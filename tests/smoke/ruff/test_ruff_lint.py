"""ruff check on the target: finds a planted error, passes a clean file, reads stdin, honours a config file."""

UNUSED_IMPORT = "import os\n\n\ndef main():\n    return 1\n"
CLEAN = "def main():\n    return 1\n"
LONG_LINE = "def main():\n    return 'a line of well over twenty characters'\n"


def test_check_finds_a_planted_error(run_ruff, project):
    run_ruff.write(f"{project}/bad.py", UNUSED_IMPORT)
    result = run_ruff("check", "bad.py", cwd=project)
    assert result.exit_code == 1, result.report()
    assert "F401" in result.stdout and "bad.py:1:8" in result.stdout, result.report()


def test_check_passes_a_clean_file(run_ruff, project):
    run_ruff.write(f"{project}/good.py", CLEAN)
    result = run_ruff("check", "good.py", cwd=project)
    assert result.exit_code == 0, result.report()


def test_check_reads_stdin(run_ruff, project):
    result = run_ruff("check", "--stdin-filename", "piped.py", "-", cwd=project, stdin=UNUSED_IMPORT.encode())
    assert result.exit_code == 1 and "F401" in result.stdout and "piped.py" in result.stdout, result.report()


def test_a_config_file_is_honoured(run_ruff, project):
    run_ruff.write(f"{project}/long.py", LONG_LINE)
    default = run_ruff("check", "long.py", cwd=project)
    assert default.exit_code == 0, default.report()  # E501 is not in ruff's default rule set
    run_ruff.write(f"{project}/pyproject.toml", '[tool.ruff]\nline-length = 20\n\n[tool.ruff.lint]\nselect = ["E501"]\n')
    configured = run_ruff("check", "long.py", cwd=project)
    assert configured.exit_code == 1 and "E501" in configured.stdout, configured.report()
