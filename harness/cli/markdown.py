"""Untrusted text into GitHub Markdown, inert: what a build printed, a JUnit property, a test id.

The report becomes a pull request comment posted with write access, and much of what it holds came from the build
under test (the version it printed, its output) or from a JUnit file anyone could have written.  Rendered, such
text must stay text: no tag, no link or image, no autolinked URL, no @mention, no emphasis, no table cell break.
"""

from __future__ import annotations

import html
import re

# Markdown's punctuation that can open or close a construct inside a line (code, emphasis, strike-through, link or
# image brackets, a table cell); a backslash makes each literal (CommonMark).  The text never starts a line, so
# list, heading and quote markers need none.
_MARKDOWN = re.compile(r"([\\`*\[\]|~]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9]))")  # x86_64's _ emphasises nothing
_IN_HTML = re.compile(r"[\[\]*~`|]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")
# What GitHub links by itself, even when escaped as Markdown: mentions and issue references, URLs and www. names.
_AUTOLINK = re.compile(r"@|#(?=\d)|:(?=//)|(?i:www)\.")
_ENTITIES = {"@": "&#64;", "#": "&#35;", ":": "&#58;"}


def _unlinked(text: str) -> str:
    return _AUTOLINK.sub(lambda m: _ENTITIES.get(m.group(0)) or m.group(0)[:-1] + "&#46;", text)


def inline(text: str) -> str:
    """One line of inert text for a table cell, a heading or a list item."""
    text = " ".join(str(text).split())  # no line break can end a table row
    text = html.escape(text, quote=True)  # no tag, no entity of the writer's own
    return _unlinked(_MARKDOWN.sub(r"\\\1", text))


def code(text: str) -> str:
    """Inline code in a table cell: literal inside, whatever it holds (a '|' would still end the cell)."""
    text = " ".join(str(text).split())
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence, pad = "`" * (longest + 1), " " if longest else ""
    return f"{fence}{pad}{text}{pad}{fence}".replace("|", "\\|")


def block(text: str) -> str:
    """A fenced code block's body: no line of it can close the fence (GitHub renders nothing inside as Markdown)."""
    return str(text).replace("```", "`\u200b``").replace("~~~", "~\u200b~~")


def html_text(text: str) -> str:
    """Text inside an HTML element of the report (a <summary>): escaped, and no mention or link GitHub adds."""
    text = html.escape(" ".join(str(text).split()), quote=True)
    # Markdown is not read inside an HTML block, but a reader that did would find no bracket or emphasis to act on.
    return _IN_HTML.sub(lambda m: f"&#{ord(m.group(0))};", _unlinked(text))
