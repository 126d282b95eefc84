"""ruff format on the target: rewrites a file, then --check finds nothing to do; formats stdin."""

UGLY = "x = {  'a':1,'b' :2 }\ndef f( a ):\n  return a\n"
FORMATTED = 'x = {"a": 1, "b": 2}\n\n\ndef f(a):\n    return a\n'


def test_format_rewrites_then_check_is_clean(run_ruff, project):
    run_ruff.write(f"{project}/ugly.py", UGLY)
    before = run_ruff("format", "--check", "ugly.py", cwd=project)
    assert before.exit_code == 1, before.report()
    run_ruff("format", "ugly.py", cwd=project).check()
    assert run_ruff.read(f"{project}/ugly.py") == FORMATTED
    after = run_ruff("format", "--check", "ugly.py", cwd=project)
    assert after.exit_code == 0, after.report()


def test_format_reads_stdin(run_ruff, project):
    result = run_ruff("format", "--stdin-filename", "piped.py", "-", cwd=project, stdin=UGLY.encode()).check()
    assert result.stdout == FORMATTED
