"""`python -m archsmoke report`: JUnit files from any number of runs merged into one Markdown report.

A matrix of tests x targets (never shortened), a summary line on top, each
target's identity (binary, hash, QEMU, root filesystem), and a collapsed
section per failure.  It must fit a pull request comment: when it would not,
the failure details are shortened (then dropped, last first) and the report
says what was cut.
"""

from __future__ import annotations

from .junit import HOST, Outcome, Results
from .markdown import block, code, html_text, inline

GITHUB_COMMENT_LIMIT = 65_536
MARKS = {"passed": "✅", "failed": "❌", "error": "💥", "skipped": "⏭️"}


def _run_link(results: Results) -> str:
    return f"[the run]({results.run_url})" if results.run_url else "the run"


def _summary(results: Results) -> str:
    if not results.files:
        what = ("every expected run ended before testing" if results.missing else "no JUnit file was given")
        missing = f" ({', '.join(results.missing)})" if results.missing else ""
        return f"**archsmoke ❌ no results arrived**: {what}{missing}; see {_run_link(results)} for why."
    words = {"error": "errors"}
    parts = [f"{n} {s if n == 1 else words.get(s, s)}" for s in ("failed", "error", "passed", "skipped")
             if (n := results.count(s))]
    # Runs that sent nothing are named in the headline: "40 passed" under a red mark would read as a flaky mark.
    absent = f"no results from {inline(', '.join(results.missing))}" if results.missing else ""
    verdict = ("❌ failed" + (f", and {absent}" if absent else "")) if results.tests_failed else f"❌ {absent}" if absent \
        else "❌ nothing tested" if results.nothing_tested else \
        "⚠️ passed, not everything covered" if results.not_covered else "✅ passed"
    targets = [t for t in results.target_names if t != HOST]
    summary = (f"**archsmoke {verdict}**: {', '.join(parts) or 'no tests'} — {len(results.tests)} tests on "
               f"{len(targets)} target{'s' if len(targets) != 1 else ''} ({inline(', '.join(targets)) or 'none'})")
    gaps = [f"- ⚠️ **not covered**: {inline(gap)}" for gap in results.not_covered]
    if results.missing:
        gaps.insert(0, f"- ❌ **no results** from {inline(', '.join(results.missing))}: "
                       f"{'that run' if len(results.missing) == 1 else 'those runs'} ended before testing; "
                       f"see {_run_link(results)} for why")
    return "\n".join([summary, *([""] + gaps if gaps else [])])


def _targets_table(results: Results) -> list[str]:
    if not results.targets:
        return []
    lines = ["| target | runner | proves | binary | sha256 | QEMU | ran in | kernel, pages, CPU |",
             "|---|---|---|---|---|---|---|---|"]
    with_product = {name for name, product in results.targets if product}
    for (name, product) in sorted(results.targets):
        if not product and name in with_product:
            continue  # that target's tests without a binary: its rows with one say all of it
        t = results.targets[(name, product)]
        version = t.get("reported_version") or t.get("binary_version") or "?"
        binary = f"{product} {version}" if product else "-"
        cells = (name, t.get("runner", "?"), t.get("proves", "?"), binary)
        lines.append("| " + " | ".join(map(inline, cells)) + f" | {code(t.get('binary_sha256', '-')[:12])} | "
                     f"{inline(t.get('qemu', 'native'))} | "
                     f"{inline(t.get('root') or 'root filesystem ' + t.get('rootfs_key', '?'))} | {_kernel_cell(t)} |")
    return lines


def _kernel_cell(identity: dict[str, str]) -> str:
    """What the commands ran on: a VM's or a real machine's own kernel, or this host's, with its page size."""
    page = identity.get("page_size", "")
    parts = [identity.get("kernel_release", "?"), f"{int(page) // 1024} KiB pages" if page.isascii() and page.isdigit() else "?"]
    if identity.get("cpu"):
        parts.append(f"CPU {identity['cpu']}")
    return inline(", ".join(parts))


def _matrix(results: Results, tests: list[str] | None = None) -> list[str]:
    targets = results.target_names
    lines = ["| test | " + " | ".join(map(inline, targets)) + " |", "|---|" + "---|" * len(targets)]
    for test in results.tests if tests is None else tests:
        cells = []
        for target in targets:
            outcome = results.cells.get((test, target))
            cells.append("" if outcome is None else f"{MARKS[outcome.status]} {outcome.seconds:.1f}s")
        lines.append(f"| {code(test)} | " + " | ".join(cells) + " |")
    return lines


def _detail(test: str, target: str, outcome: Outcome, max_lines: int | None) -> str:
    text = outcome.details.strip() or outcome.message.strip()
    lines = text.splitlines()
    if max_lines is not None and len(lines) > max_lines:
        lines = [f"[... {len(lines) - max_lines} earlier lines cut to fit ...]", *lines[-max_lines:]]
    body = block("\n".join(lines))
    result_line = next((line for line in text.splitlines() if line.startswith("result:")), None)
    if result_line:  # a failed command: say how it ended
        first = result_line.removeprefix("result:").strip()
    else:
        first = outcome.message.strip().splitlines()[0][:150] if outcome.message.strip() else outcome.status
    return (f"<details><summary>{MARKS[outcome.status]} <code>{html_text(test)}</code> on "
            f"<b>{html_text(target)}</b>: {html_text(first)}</summary>\n\n"
            f"```\n{body}\n```\n</details>")


# Room the failures' heading and note need beside a matrix cut to fit.
_FAILURES_ROOM = 600


def _head(results: Results, title: str, tests: list[str] | None = None, note: str = "") -> str:
    return "\n".join([f"## {title}", "", _summary(results), "", *_targets_table(results), "",
                      *_matrix(results, tests), *([note] if note else []), ""])


def _fitted_head(results: Results, title: str, limit: int) -> str:
    """The head with as many matrix rows as fit: the tests that failed somewhere first, in the matrix's order."""
    failing = {test for (test, _), o in results.cells.items() if o.status in ("failed", "error")}
    ordered = [t for t in results.tests if t in failing] + [t for t in results.tests if t not in failing]

    def head(count: int) -> str:
        kept = set(ordered[:count])
        note = (f"\n_To fit one comment, {len(ordered) - count} of {len(ordered)} rows were left out (those of tests "
                "that failed somewhere were kept first); the JUnit files in the run's artifacts have every result._")
        return _head(results, title, [t for t in results.tests if t in kept], note)

    low, high = 0, len(ordered)
    while low < high:
        middle = (low + high + 1) // 2
        if len(head(middle)) <= limit - _FAILURES_ROOM:
            low = middle
        else:
            high = middle - 1
    return head(low)


def render(results: Results, limit: int = GITHUB_COMMENT_LIMIT, title: str = "archsmoke report") -> str:
    text = _render(results, limit, title)
    if len(text) > limit:  # even the summary and the targets table alone: say so rather than be cut by GitHub
        text += (f"\n_This report is {len(text)} characters, {len(text) - limit} over the limit of {limit}: "
                 "it will not fit one comment._\n")
    return text


def _render(results: Results, limit: int, title: str) -> str:
    if not results.files:
        return "\n".join([f"## {title}", "", _summary(results), ""])
    head = _head(results, title)
    if len(head) > limit:
        head = _fitted_head(results, title, limit)
    failures = [(t, g, o) for (t, g), o in sorted(results.cells.items()) if o.status in ("failed", "error")]
    if not failures:
        return head
    heading = "\n### Failures\n"
    for max_lines in (None, 60, 25, 10, 3):
        details = [_detail(t, g, o, max_lines) for t, g, o in failures]
        note = "" if max_lines is None else (
            f"\n_To fit one comment, each failure's output was cut to its last {max_lines} lines; "
            f"the JUnit files and logs in the run's artifacts have it all._\n")
        text = head + heading + note + "\n".join(details) + "\n"
        if len(text) <= limit:
            return text
    # Even 3 lines each is too much: keep as many details as fit (one pass over their sizes), and say how
    # many were left out.
    def shortened(keep: int) -> str:
        note = (f"\n_To fit one comment, each failure's output was cut to its last 3 lines and "
                f"{len(details) - keep} of {len(details)} failure details were left out; the JUnit files and "
                f"logs in the run's artifacts have them all._\n")
        return head + heading + note + "\n".join(details[:keep]) + "\n"

    room = limit - len(shortened(0)) - len(str(len(details)))  # the note's count may grow by a digit or two
    keep, used = 0, 0
    while keep < len(details) and used + len(details[keep]) + 1 <= room:
        used += len(details[keep]) + 1
        keep += 1
    return shortened(keep)
