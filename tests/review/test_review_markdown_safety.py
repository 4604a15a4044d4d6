"""The Markdown report is safe to post as a pull-request comment, whatever the template says
(and the HTML report stays escaped).

Rendered with cmarkgfm (GitHub's own cmark-gfm, with raw HTML let through so
that any leak shows): names chosen by a template's author never become HTML
tags, links, images, e-mail or URL autolinks, mentions, emphasis, extra table
cells or closed code spans, and every Mermaid line keeps the flowchart grammar.
"""

from __future__ import annotations

import html
import json
import re
import tempfile
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import cmarkgfm  # type: ignore[import-untyped]
from cmarkgfm.cmark import Options  # type: ignore[import-untyped]
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cdk_lambda_xray.review import report_html, report_markdown
from cdk_lambda_xray.review.assembly import load_assembly
from cdk_lambda_xray.review.build import build_model
from cdk_lambda_xray.review.review import run_review
from cdk_lambda_xray.review.rules import Severity
from cdk_lambda_xray.review.suppressions import Suppression
from cdk_lambda_xray.review.text import md_code, md_text, mermaid_label, one_line

ATTACKS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "</details><details open>",
    "<!-- c -->",
    "[click](https://evil.example/)",
    "![pic](https://evil.example/p.png)",
    "[ref]: https://evil.example",
    "<https://evil.example>",
    "https://evil.example/x",
    "www.evil.example",
    "mail@evil.example",
    "@octocat",
    "#123",
    "`",
    "``code``",
    "```",
    "| a | b |",
    "\\|",
    "\\",
    "\n\n# Heading\n- item\n> quote\n1. one",
    "*em* _em_ **strong**",
    "~~gone~~",
    "$x^2$",
    "&lt;b&gt; &amp; &#60;",
    "\"quoted\" 'single'",
    "[x] {y} (z)",
    "\x1b[2J\u202e\x00\r\t",
]
hostile = st.lists(st.sampled_from(ATTACKS) | st.text(max_size=8), min_size=1, max_size=4).map(
    "".join
)

ALLOWED_TAGS = {
    "h2",
    "h3",
    "h4",
    "p",
    "strong",
    "code",
    "pre",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "ul",
    "li",
    "details",
    "summary",
}


def gfm(markdown: str) -> str:
    """HTML from GitHub's renderer, raw HTML let through (so a leak is visible)."""
    options = Options.CMARK_OPT_UNSAFE | Options.CMARK_OPT_GITHUB_PRE_LANG
    return str(cmarkgfm.github_flavored_markdown_to_html(markdown, options=options))


class Structure(HTMLParser):
    """Tags, attributes, and the cell count of every table row."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attributes: list[tuple[str, str, str | None]] = []
        self.tables: list[tuple[int, list[int]]] = []  # (header cells, cells per body row)
        self.codes: list[str] = []
        self._code: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attributes += [(tag, name, value) for name, value in attrs]
        if tag == "table":
            self.tables.append((0, []))
        elif tag == "th":
            header, rows = self.tables[-1]
            self.tables[-1] = (header + 1, rows)
        elif tag == "tr" and self.tables and self.tables[-1][0] and "tbody" in self.tags:
            self.tables[-1][1].append(0)
        elif tag == "td":
            self.tables[-1][1][-1] += 1
        elif tag == "code":
            self._code = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "code" and self._code is not None:
            self.codes.append("".join(self._code))
            self._code = None

    def handle_data(self, data: str) -> None:
        if self._code is not None:
            self._code.append(data)


def structure(markdown: str) -> Structure:
    parser = Structure()
    parser.feed(gfm(markdown))
    return parser


def shown(text: str) -> str:
    """What a reader sees of ``text`` quoted as prose (one line, mention breakers)."""
    return one_line(text).replace("@", "@\u200b").replace("#", "#\u200b").strip()


def cell(markdown_cell: str) -> str:
    """The inner HTML of the one body cell of a 1x1 table holding ``markdown_cell``."""
    rendered = gfm(f"| h |\n|---|\n| {markdown_cell} |\n")
    cells = re.findall(r"<td>(.*?)</td>", rendered, re.S)
    assert len(cells) == 1, rendered
    return str(cells[0])


@settings(max_examples=200, deadline=None)
@given(text=hostile)
def test_prose_renders_as_exactly_its_text(text: str) -> None:
    inner = cell(md_text(text))
    assert "<" not in inner, inner  # no tag at all: no link, image, emphasis, HTML
    assert html.unescape(inner).strip() == shown(text)


@settings(max_examples=200, deadline=None)
@given(text=hostile)
def test_a_code_span_holds_its_text_whatever_backticks_it_contains(text: str) -> None:
    inner = cell(md_code(text))
    match = re.fullmatch(r"<code>(.*)</code>", inner, re.S)
    assert match, inner
    if "\\|" not in one_line(text):  # a backslash before a pipe shows doubled (safe, not exact)
        assert html.unescape(match.group(1)).strip() == one_line(text).strip()


@settings(max_examples=100, deadline=None)
@given(text=hostile)
def test_a_mermaid_label_cannot_end_its_label_or_line(text: str) -> None:
    label = mermaid_label(text)
    assert not set(label) & set('"`<>\n\r')
    assert len(re.sub(r"#[a-z0-9]+;", "c", label)) <= 60  # shown characters


# -- the whole report ------------------------------------------------------------------------

MERMAID_LINE = re.compile(
    r'flowchart LR|  n\d+_[A-Za-z0-9_]*(\(\[|\[\(|\[)"[^"`<>\n]*"(\]\)|\)\]|\])'
    r"|  n\d+_[A-Za-z0-9_]* (-->|-\.->)(\|[A-Za-z -]+\|)? n\d+_[A-Za-z0-9_]*"
)


def _assembly(root: Path, name: str) -> Path:
    fn: dict[str, Any] = {
        "Type": "AWS::Lambda::Function",
        "Metadata": {"aws:cdk:path": f"S/{name}/Resource"},
        "Properties": {
            "Runtime": name,
            "Handler": name,
            "Role": f"arn:aws:iam::123456789012:role/{name}",
            "TracingConfig": {"Mode": "Active"},
            "Environment": {"Variables": {"AWS_XRAY_CONTEXT_MISSING": name}},
        },
    }
    second = {
        "Type": "AWS::Lambda::Function",
        "Properties": {"Runtime": "python3.12", "Role": {"Ref": name}},
    }
    subscription = {
        "Type": "AWS::SNS::Subscription",
        "Properties": {"Protocol": "lambda", "Endpoint": {"Ref": "Fn"}, "TopicArn": name},
    }
    nested = {"Type": "AWS::CloudFormation::Stack", "Properties": {"TemplateURL": name}}
    template = {"Resources": {"Fn": fn, "Second": second, "Sub": subscription, name: nested}}
    manifest = {
        "version": "36.0.0",
        "artifacts": {
            "S": {
                "type": "aws:cloudformation:stack",
                "properties": {"templateFile": "S.template.json"},
                "metadata": {f"/S/{name}": [{"type": "aws:cdk:warning", "data": name}]},
            }
        },
    }
    (root / "S.template.json").write_text(json.dumps(template))
    (root / "manifest.json").write_text(json.dumps(manifest))
    return root


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(name=hostile)
def test_hostile_names_never_change_the_report_structure(name: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        model = build_model(load_assembly(_assembly(Path(tmp), name)))
    suppression = Suppression("XRAY003", "S/Second", reason=name, origin=name)
    markdown = report_markdown.render(run_review(model, [suppression]), Severity.WARNING)
    found = structure(markdown)
    assert set(found.tags) <= ALLOWED_TAGS, set(found.tags) - ALLOWED_TAGS
    assert all(attr == ("pre", "lang", "mermaid") for attr in found.attributes), found.attributes
    for header, rows in found.tables:
        assert rows and all(cells == header for cells in rows), (header, rows)
    path = one_line(f"S/{name}").strip()
    if "\\|" not in path:
        assert path in [code.strip() for code in found.codes]  # the parser decoded entities
    block = markdown.split("```mermaid\n", 1)[1].split("\n```", 1)[0].splitlines()
    assert all(MERMAID_LINE.fullmatch(line) for line in block), block
    rendered_block = next(c for c in found.codes if c.startswith("flowchart LR"))
    assert len(rendered_block.splitlines()) == len(block)


def test_the_attacks_are_shown_as_text(tmp_path: Path) -> None:
    """The literal attack text reaches the reader (escaped, not dropped)."""
    name = "<img src=x> [a](https://evil.example) mail@evil.example"
    model = build_model(load_assembly(_assembly(tmp_path, name)))
    rendered = gfm(report_markdown.render(run_review(model)))
    assert "&lt;img src=x&gt; [a](https://evil.example) mail@\u200bevil.example" in rendered
    assert "<a " not in rendered and "<img" not in rendered


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: Counter[str] = Counter()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags[tag] += 1


def _html_tags(name: str) -> Counter[str]:
    with tempfile.TemporaryDirectory() as tmp:
        model = build_model(load_assembly(_assembly(Path(tmp), name)))
    parser = Tags()
    parser.feed(report_html.render(run_review(model)))
    return parser.tags


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=hostile.filter(lambda n: "python" not in n))
def test_hostile_names_never_add_tags_to_the_html_report(name: str) -> None:
    assert _html_tags(name) == _html_tags("benign")
