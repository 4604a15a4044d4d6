"""Make text from an assembly safe where the review shows it: Markdown, Mermaid, a terminal.

Names, paths, messages and expressions in a template are chosen by whoever
wrote it. The Markdown report is posted as a pull-request comment, so what it
quotes must not become HTML, a link, an image, an emphasis, a closed code
span or a broken table there (GitHub's renderer, cmark-gfm, including its
autolinks); Mermaid labels must not end the label or the diagram; a terminal
must not receive control sequences. Every report takes user text through one
of these functions (the HTML report relies on Jinja's autoescaping instead).
"""

from __future__ import annotations

import re
from typing import Final

__all__ = ["md_code", "md_text", "mermaid_label", "one_line", "terminal_safe"]

#: C0 and C1 controls (but tab and newline), DEL, the bidirectional overrides that
#: reorder what a reader sees (Trojan Source), and lone surrogates (an undecodable
#: file name), which no UTF-8 output can carry
_CONTROL: Final = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)
_BREAKS: Final = re.compile("[\t\n\u2028\u2029\x85]")
#: ASCII punctuation that means something to CommonMark or GitHub's extensions
#: (emphasis, code, links, images, HTML, entities, tables, strikethrough, math,
#: autolinked URLs) or at the start of a line (headings, lists, quotes)
_MD_SPECIAL: Final = re.compile(r"([\\`*_{}\[\]()<>#+\-!|~&:$])")
_WWW: Final = re.compile(r"(?i)(www)\.")
_BACKTICKS: Final = re.compile(r"`+")
_PIPE: Final = re.compile(r"(\\*)\|")
_MERMAID_ENTITIES: Final = {
    "#": "#35;",
    '"': "#quot;",
    "<": "#lt;",
    ">": "#gt;",
    "&": "#amp;",
    "`": "#96;",
}
MERMAID_LABEL_MAX: Final = 60


def terminal_safe(text: str) -> str:
    """``text`` with control characters shown as ``\\uXXXX`` (newlines and tabs kept)."""
    return _CONTROL.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def one_line(text: str) -> str:
    """``text`` without control characters, line breaks turned into spaces."""
    return _BREAKS.sub(" ", _CONTROL.sub("", text.replace("\r", "")))


def md_text(text: object) -> str:
    """``text`` as literal Markdown prose: one line, every special character escaped.

    Safe inside table cells (pipes are escaped) and list items. ``@`` and ``#``
    get a zero-width space after them: GitHub autolinks e-mail addresses even
    when the ``@`` is escaped, and turns ``@name`` and ``#123`` into mentions and
    issue links after rendering.
    """
    escaped = _MD_SPECIAL.sub(r"\\\1", one_line(str(text)))
    return _WWW.sub(r"\1\\.", escaped).replace("@", "@\u200b").replace("#", "#\u200b")


def md_code(text: object, *, table: bool = True) -> str:
    """``text`` as a Markdown code span that no backtick inside can close.

    With ``table`` (the default) pipes are escaped so the span stays in its cell.
    """
    content = one_line(str(text))
    if table:
        # an even run of backslashes then \| : cmark-gfm's cell splitter pairs them up
        content = _PIPE.sub(lambda m: m.group(1) * 2 + "\\|", content)
    longest = max((len(run) for run in _BACKTICKS.findall(content)), default=0)
    fence = "`" * (longest + 1)
    if content.startswith("`") or content.endswith("`") or not content.strip(" "):
        content = f" {content} "
    return f"{fence}{content}{fence}"


def mermaid_label(text: object) -> str:
    """``text`` for a quoted Mermaid label: one line, short, no quote, tag or backtick."""
    line = one_line(str(text))
    if len(line) > MERMAID_LABEL_MAX:
        line = "…" + line[-(MERMAID_LABEL_MAX - 1) :]
    return "".join(_MERMAID_ENTITIES.get(c, c) for c in line)
