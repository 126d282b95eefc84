"""Reports from real runs: JUnit with archsmoke's properties, kept logs, and the merged Markdown report."""

import html
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

SMOKE = Path(__file__).parents[1] / "smoke" / "uv"
SUBSET = ["test_uv_version.py", "test_uv_cli.py"]


def _report(*args, env=None):
    result = subprocess.run([sys.executable, "-m", "archsmoke", "report", *map(str, args)],
                            capture_output=True, text=True, timeout=120, env=env)
    assert "Traceback" not in result.stderr, result.stderr
    return result


@pytest.fixture(scope="module")
def junit_files(tmp_path_factory, cache, built, release):
    """A passing target (x86_64, uv 0.13.9) and a failing one (ppc64le, a binary that exits 1), run for real."""
    out = tmp_path_factory.mktemp("reports")
    broken = built("ppc64le").root / "bin/false"
    runs = {
        "x86_64": ["--arch", "x86_64", "--release", "0.13.9"],
        "ppc64le": ["--arch", "ppc64le", "--binary", str(broken), "--runner", "qemu-user"],
        "x86_64-container": ["--arch", "x86_64", "--release", "0.13.9", "--runner", "container"],
    }
    for arch, args in runs.items():
        subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--cache-dir", str(cache.root),
                        *args, "--junitxml", str(out / f"junit-{arch}.xml"), *(str(SMOKE / t) for t in SUBSET)],
                       cwd=SMOKE.parents[2], capture_output=True, timeout=600)
    return out


def test_junit_carries_what_a_reader_needs_to_trust_the_result(junit_files):
    xml = (junit_files / "junit-x86_64.xml").read_text()
    for name in ("archsmoke_target", "archsmoke_runner", "archsmoke_binary_version", "archsmoke_binary_sha256",
                 "archsmoke_rootfs_key", "archsmoke_reported_version"):
        assert f'name="{name}"' in xml
    assert 'name="archsmoke_root" value="root filesystem x86_64-' in xml
    ppc = (junit_files / "junit-ppc64le.xml").read_text()
    assert 'name="archsmoke_qemu" value="qemu-ppc64le version' in ppc


def test_the_failing_targets_log_is_kept_beside_the_junit_file(junit_files):
    log = (junit_files / "archsmoke-ppc64le.log").read_text()
    assert log.startswith("# ppc64le (qemu-user runner):") and "/usr/local/bin/uv --version" in log and "exit 1" in log
    assert not (junit_files / "archsmoke-x86_64.log").exists(), "a passing target needs no log"


def test_merged_report(junit_files):
    result = _report(junit_files / "junit-x86_64.xml", junit_files / "junit-ppc64le.xml")
    assert result.returncode == 1, "a failure must fail the report"
    text = result.stdout
    summary = text.splitlines()[2]
    assert summary.startswith("**archsmoke ❌ failed**") and "on 2 targets (ppc64le, x86_64)" in summary
    header = next(line for line in text.splitlines() if line.startswith("| test |"))
    assert header == "| test | ppc64le | x86_64 |"
    rows = [line for line in text.splitlines() if line.startswith("| `test_")]
    names = {re.match(r"\| `([^`]+)`", row).group(1) for row in rows}
    assert names == {"test_uv_version.py::test_uv_reports_its_version", "test_uv_cli.py::test_help",
                     "test_uv_cli.py::test_uvx_help", "test_uv_cli.py::test_help_pip",
                     "test_uv_cli.py::test_python_shim_finds_the_binary", "test_uv_cli.py::test_bash_completion_parses",
                     "test_uv_cli.py::test_cache_commands"}
    for row in rows:
        cells = [c.strip() for c in row.split("|")[2:4]]
        assert cells[1].startswith(("✅", "⏭️")), row  # x86_64 passes
        assert cells[0].startswith(("❌", "💥", "⏭️")), row  # ppc64le fails
    assert "| x86_64 | qemu-user | page size 4 KiB; CPU floor qemu64 | uv 0.13.9 |" in text, text
    assert "qemu-ppc64le version" in text
    assert re.search(r"\| ppc64le \| qemu-user \|.*\| root filesystem ppc64le-[0-9a-f]{24} \|", text)
    assert "### Failures" in text
    assert "<details><summary>❌ <code>test_uv_version.py::test_uv_reports_its_version</code> on <b>ppc64le</b>: exit code 1" in text
    assert "command: /usr/local/bin/uv --version" in text
    assert len(text) < 65_536 and "cut" not in text


def test_each_tier_is_its_own_column(junit_files):
    result = _report(junit_files / "junit-x86_64.xml", junit_files / "junit-x86_64-container.xml")
    assert result.returncode == 0, result.stdout
    text = result.stdout
    assert "| test | x86_64 | x86_64 (container) |" in text
    assert re.search(r"\| x86_64 \(container\) \| container \| page size 4 KiB; CPU floor qemu64 \| uv 0\.13\.9 \|.*\| image localhost/archsmoke/x86_64:"
                     r"[0-9a-f]{24} from root filesystem x86_64-[0-9a-f]{24} \|", text)
    rows = [line for line in text.splitlines() if line.startswith("| `test_")]
    assert rows and all(row.count("✅") == 2 for row in rows if "⏭️" not in row)


def test_a_passing_report_exits_zero(junit_files):
    result = _report(junit_files / "junit-x86_64.xml")
    assert result.returncode == 0 and "**archsmoke ✅ passed**" in result.stdout and "Failures" not in result.stdout


@pytest.mark.parametrize("limit", [3500, 2200])
def test_the_size_limit_cuts_details_before_the_matrix(junit_files, limit):
    full = _report(junit_files / "junit-x86_64.xml", junit_files / "junit-ppc64le.xml").stdout
    cut = _report(junit_files / "junit-x86_64.xml", junit_files / "junit-ppc64le.xml", "--max-chars", limit).stdout
    assert len(full) > limit >= len(cut)
    matrix = [line for line in full.splitlines() if line.startswith("| ")]
    assert [line for line in cut.splitlines() if line.startswith("| ")] == matrix
    note = re.search(r"_To fit one comment, (.*?)_", cut, re.S).group(1)
    failures = full.count("<details>")
    if cut.count("<details>") < failures:
        assert f"{failures - cut.count('<details>')} of {failures} failure details were left out" in note
    else:
        assert "each failure's output was cut to its last" in note


def test_github_step_summary(junit_files, tmp_path):
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n")
    result = _report(junit_files / "junit-x86_64.xml", "--github-step-summary", "--output", tmp_path / "r.md",
                     env={**os.environ, "GITHUB_STEP_SUMMARY": str(summary)})
    assert result.returncode == 0
    assert summary.read_text() == "earlier step\n" + (tmp_path / "r.md").read_text() + "\n"


def test_not_a_junit_file(tmp_path):
    bogus = tmp_path / "junit.xml"
    bogus.write_text("<not closed")
    result = _report(bogus)
    assert result.returncode == 2 and "is not a readable JUnit XML file" in result.stderr
    result = _report(tmp_path / "missing.xml")
    assert result.returncode == 2 and "missing.xml is not a readable JUnit XML file" in result.stderr


@pytest.mark.parametrize("parser", ["lxml", "xml.etree"])
def test_not_xml_is_a_clear_error_with_either_parser(tmp_path, parser):
    """junitparser parses with lxml when it is installed (an XMLSyntaxError then), else with the standard library."""
    bogus = tmp_path / "junit.xml"
    bogus.write_text("not xml at all")
    hide = "" if parser == "lxml" else "sys.modules['lxml'] = None; "
    code = (f"import sys; {hide}import junitparser.junitparser as j; print(j.etree.__name__, file=sys.stderr); "
            "from archsmoke.cli import main; sys.exit(main(['report', sys.argv[1]]))")
    result = subprocess.run([sys.executable, "-c", code, str(bogus)], capture_output=True, text=True)
    assert result.stderr.splitlines()[0] == ("lxml.etree" if parser == "lxml" else "xml.etree.ElementTree")
    assert result.returncode == 2 and "is not a readable JUnit XML file" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


def _junit_with(cases: list[tuple[str, str]]) -> str:
    body = "".join(f'<testcase classname="tests.test_x" name="{html.escape(name)}" time="0.1">'
                   f'<properties><property name="archsmoke_target" value="ppc64le"/></properties>'
                   f'<failure message="boom">{html.escape(text)}</failure></testcase>' for name, text in cases)
    return f'<testsuites><testsuite name="pytest" tests="{len(cases)}">{body}</testsuite></testsuites>'


def test_test_ids_that_look_like_markup_stay_in_their_cell(tmp_path):
    junit = tmp_path / "j.xml"
    junit.write_text(_junit_with([("test_a[x|y-ppc64le]", "failed"), ("test_b[</code><b>-ppc64le]", "failed")]))
    text = _report(junit).stdout
    assert "| `test_x.py::test_a[x\\|y]` | ❌" in text, text
    assert "<code>test_x.py::test_b&#91;&lt;/code&gt;&lt;b&gt;&#93;</code>" in text, text
    assert "</code><b>]" not in text.split("### Failures")[1]  # in the matrix it sits inside a code span: literal


def test_many_failures_keep_as_many_details_as_fit(tmp_path):
    junit = tmp_path / "j.xml"
    junit.write_text(_junit_with([(f"test_{i:05d}[ppc64le]", f"line {i}\n" * 5) for i in range(3000)]))
    limit = 400_000
    text = _report(junit, "--max-chars", limit).stdout
    kept = text.count("<details>")
    assert len(text) <= limit and 0 < kept < 3000, (len(text), kept)
    assert f"{3000 - kept} of 3000 failure details were left out" in text
    one_more = len(text) + len(text.split("<details>")[1]) + len("<details>") + 1
    assert one_more > limit, "one more detail would still have fit"


def test_a_matrix_over_the_limit_keeps_the_failing_rows_and_says_how_many_went(tmp_path):
    """3000 tests on one target (GitHub's 65536): the rows of the failing tests stay, passing ones go first."""
    cases = "".join(f'<testcase classname="tests.test_x" name="test_{i:05d}[ppc64le]" time="0.1"><properties>'
                    f'<property name="archsmoke_target" value="ppc64le"/></properties>'
                    + ('<failure message="boom">x</failure>' if i % 10 == 0 else "") + '</testcase>' for i in range(3000))
    junit = tmp_path / "j.xml"
    junit.write_text(f'<testsuites><testsuite name="pytest" tests="3000">{cases}</testsuite></testsuites>')
    result = _report(junit, "--max-chars", 65536)
    rows = [line for line in result.stdout.splitlines() if line.startswith("| `test_x.py::test_")]
    assert len(result.stdout) <= 65536 and 300 < len(rows) < 3000, (len(result.stdout), len(rows))
    assert all(f"test_{i:05d}`" in result.stdout for i in range(0, 3000, 10))  # every failing test keeps its row
    assert f"{3000 - len(rows)} of 3000 rows were left out" in result.stdout
    assert "warning" not in result.stderr and result.returncode == 1
    tiny = _report(junit, "--max-chars", 1000)  # not even the summary and the tables fit: it says so
    assert "over the limit of 1000" in tiny.stdout or len(tiny.stdout) <= 1000
    assert ("over --max-chars 1000" in tiny.stderr) == (len(tiny.stdout) > 1000)


def test_each_products_build_has_its_row_when_a_run_tests_two(tmp_path, cache):
    """The suites reach their product through fixtures of their own (`uv`, `ruff`): each test still names it."""
    junit = tmp_path / "junit-mixed.xml"
    repo = SMOKE.parents[2]
    done = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--cache-dir", str(cache.root),
                           "--arch", "x86_64", "--release", "uv=0.13.9", "--release", "ruff=0.15.11",
                           f"--junitxml={junit}", str(SMOKE / "test_uv_version.py"),
                           str(repo / "tests/smoke/ruff/test_ruff_version.py")],
                          cwd=repo, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:]
    text = _report(junit).stdout
    rows = [line for line in text.splitlines() if line.startswith("| x86_64 |")]
    assert len(rows) == 2 and "| uv 0.13.9 |" in rows[1] and "| ruff 0.15.11 |" in rows[0], text


HOSTILE = ('v1 <img src=x onerror=alert(1)></details></summary> [click](https://evil.example/x) ![i](http://e/i.png) '
           '@octocat #1 www.evil.example **bold** _em_ ~~gone~~ `code` a|b\n| new | row |\n```\n<script>x</script>')
PROPERTIES = ("archsmoke_target", "archsmoke_tier_label", "archsmoke_runner", "archsmoke_proves", "archsmoke_product",
              "archsmoke_reported_version", "archsmoke_binary_version", "archsmoke_binary_sha256", "archsmoke_qemu",
              "archsmoke_root", "archsmoke_rootfs_key", "archsmoke_kernel_release", "archsmoke_page_size",
              "archsmoke_cpu", "archsmoke_not_covered")


def _unescaped_pipes(line: str) -> int:
    return len(re.findall(r"(?<!\\)\|", line))


def test_hostile_values_in_every_property_render_inert(tmp_path):
    """What a build printed and what a JUnit file says reach a pull request comment: every property, the test id
    and the failure text carry markup, links, mentions and line breaks, and none of it may act."""
    props = "".join(f'<property name="{name}" value="{html.escape(HOSTILE if name != "archsmoke_target" else "ppc64le")}"/>'
                    for name in PROPERTIES)
    junit = tmp_path / "j.xml"
    junit.write_text(f'<testsuites><testsuite name="pytest" tests="1"><testcase classname="tests.test_x" '
                     f'name="{html.escape("test_a[ppc64le-" + HOSTILE + "]")}" time="0.1"><properties>{props}'
                     f'</properties><failure message="{html.escape(HOSTILE)}">{html.escape(HOSTILE)}</failure>'
                     f'</testcase></testsuite></testsuites>')
    text = _report(junit).stdout
    # GitHub renders nothing inside a fenced block or a code span (the test id's cell) as Markdown or HTML.
    outside_code = re.sub(r"(?<![\\`])(`+)(?!`).*?(?<!`)\1(?!`)", "", re.sub(r"```\n.*?\n```", "", text, flags=re.S))
    for active in ("<img", "<script", "</details></summary>", "[click](", "![i](", "https://evil", "http://e/",
                   "@octocat", " #1 ", "www.evil", "**bold**", "~~gone~~"):
        assert active not in outside_code, (active, text)
    assert outside_code.count("<details>") == outside_code.count("</details>") == 1
    for table in re.findall(r"(?:^\|.*\n)+", text, flags=re.M):
        rows = table.splitlines()
        assert {_unescaped_pipes(row) for row in rows} == {_unescaped_pipes(rows[0])}, table
    inside = re.search(r"```\n(.*?)\n```", text, flags=re.S).group(1)
    assert "\n```" not in inside  # the failure text cannot close its fence


@pytest.mark.parametrize("in_a_directory", [False, True], ids=["named", "in-a-directory"])
def test_a_fifo_is_refused_not_read_forever(tmp_path, in_a_directory):
    fifo = tmp_path / "junit-x.xml"
    os.mkfifo(fifo)
    result = _report(tmp_path if in_a_directory else fifo)  # its timeout would fail the test on a hang
    assert result.returncode == 2 and f"{fifo} is not a regular file" in result.stderr, result.stderr


def test_odd_numbers_in_a_junit_file_are_no_traceback(tmp_path):
    junit = tmp_path / "j.xml"
    junit.write_text('<testsuites><testsuite name="pytest" tests="1"><testcase classname="tests.test_x" '
                     'name="test_a[ppc64le]" time="soon"><properties><property name="archsmoke_target" value="ppc64le"/>'
                     '<property name="archsmoke_page_size" value="\u00b2"/></properties></testcase></testsuite>'
                     '</testsuites>')
    result = _report(junit)
    assert result.returncode == 0 and "✅ 0.0s" in result.stdout and "?, ?" in result.stdout, result.stdout


def test_the_headline_names_the_runs_that_sent_nothing(junit_files, tmp_path):
    """All that arrived passed, but two runs sent nothing: the headline says which (not "failed: 40 passed",
    which reads as a red mark on green results); with a failure as well, it says both."""
    passing = tmp_path / "passing"
    passing.mkdir()
    (passing / "junit-x86_64.xml").write_bytes((junit_files / "junit-x86_64.xml").read_bytes())
    result = _report(passing, "--expect", "x86_64,s390x,i386")
    assert result.returncode == 1
    summary = result.stdout.splitlines()[2]
    assert summary.startswith("**archsmoke ❌ no results from s390x, i386**: "), summary
    (passing / "junit-ppc64le.xml").write_bytes((junit_files / "junit-ppc64le.xml").read_bytes())
    summary = _report(passing, "--expect", "x86_64,ppc64le,s390x").stdout.splitlines()[2]
    assert summary.startswith("**archsmoke ❌ failed, and no results from s390x**: "), summary
