"""The reports render: HTML parses with a node per function and an edge per event source."""

from __future__ import annotations

import json
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path

import pytest

from cdk_lambda_xray.review import report_html, report_json, report_markdown
from cdk_lambda_xray.review.review import Review, review_path
from cdk_lambda_xray.review.rules import Severity

HANDWRITTEN = Path(__file__).resolve().parent / "fixtures" / "handwritten"


class _Collector(HTMLParser):
    """Records the elements the tests look at (stdlib parser, strict about nesting)."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.function_nodes: list[str] = []
        self.source_edges: list[tuple[str, str, str]] = []
        self.function_rows: list[str] = []
        self.finding_rows: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        classes = a.get("class", "").split()
        if tag == "g" and {"node", "function"} <= set(classes):
            self.function_nodes.append(a["data-key"])
        if tag == "path" and "source-edge" in classes:
            self.source_edges.append((a["data-from"], a["data-to"], a["class"]))
        if tag == "tr" and "function" in classes:
            self.function_rows.append(a["data-path"])
        if tag == "tr" and "finding" in classes:
            self.finding_rows.append(a["data-rule"])
        if tag not in {"meta", "br", "rect", "path"}:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in {"meta", "br", "rect", "path"}:
            return
        assert self.stack and self.stack[-1] == tag, f"unbalanced </{tag}> in {self.stack[-3:]}"
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


@pytest.fixture(scope="module", params=["broken", "handwritten"])
def review(request: pytest.FixtureRequest) -> Review:
    if request.param == "broken":
        path: Path = request.getfixturevalue("broken_out")
        return review_path(path)
    return review_path(HANDWRITTEN)


@pytest.fixture(scope="module")
def parsed(review: Review) -> _Collector:
    parser = _Collector()
    parser.feed(report_html.render(review, Severity.WARNING))
    parser.close()
    assert parser.stack == [], "unclosed elements"
    return parser


def test_html_table_has_a_row_per_function(review: Review, parsed: _Collector) -> None:
    assert sorted(parsed.function_rows) == sorted(fn.path for fn in review.model.functions.values())


def test_html_diagram_has_a_node_per_function(review: Review, parsed: _Collector) -> None:
    expected = sorted(f"fn:{rid}" for rid in review.model.functions)
    assert sorted(parsed.function_nodes) == expected


def test_html_diagram_has_an_edge_per_event_source(review: Review, parsed: _Collector) -> None:
    assert len(parsed.source_edges) == len(review.model.event_sources) > 0
    targets = {to for _, to, _ in parsed.source_edges}
    assert targets == {f"fn:{e.function}" for e in review.model.event_sources}


def test_html_marks_untraced_hops(review: Review, parsed: _Collector) -> None:
    gaps = [e for e in review.model.event_sources if e.hop.value == "untraced"]
    drawn = [c for _, _, c in parsed.source_edges if "hop-untraced" in c]
    assert len(drawn) == len(gaps) > 0


def test_html_lists_every_finding(review: Review, parsed: _Collector) -> None:
    assert parsed.finding_rows == [f.rule_id for f in review.findings]


def test_html_shows_the_coverage_figure(review: Review, parsed: _Collector) -> None:
    text = "".join(parsed.text)
    assert f"{review.traced} / {review.total} functions traced" in text


def test_html_escapes_values_from_the_template(write_assembly: Callable[..., Path]) -> None:
    hostile = "<script>alert(1)</script>"
    fn = {
        "Type": "AWS::Lambda::Function",
        "Properties": {
            "Runtime": "python3.12",
            "Handler": "index.handler",
            "Role": "arn:aws:iam::123456789012:role/r",
            "Environment": {"Variables": {"AWS_XRAY_CONTEXT_MISSING": hostile}},
        },
    }
    html = report_html.render(review_path(write_assembly({"Fn": fn})))
    assert hostile not in html
    assert "&lt;script&gt;" in html


def test_markdown_has_a_row_per_function_and_a_mermaid_map(review: Review) -> None:
    text = report_markdown.render(review, Severity.WARNING)
    for fn in review.model.functions.values():
        assert f"| `{fn.path}`" in text
    assert "```mermaid\nflowchart LR" in text
    assert text.count(" -->|") + text.count(" -.->|") == len(review.model.event_sources)


def test_markdown_summary_states_the_gate(review: Review) -> None:
    text = report_markdown.render(review, Severity.WARNING)
    assert "FAIL (--fail-on warning)" in text


def test_json_report_round_trips_the_review(review: Review) -> None:
    data = json.loads(report_json.render(review, Severity.ERROR))
    assert data["schema"] == "cdk-lambda-xray/review/v1"
    assert data["summary"]["functions"] == review.total
    assert data["gate"] == {"fail_on": "error", "failed": True}
    assert [f["rule"] for f in data["findings"]] == [f.rule_id for f in review.findings]
    assert {r["id"] for r in data["rules"]} >= {"XRAY001", "XRAY013"}


def test_markdown_stays_small_enough_for_a_pull_request_comment(
    write_assembly: Callable[..., Path],
) -> None:
    fn = {
        "Type": "AWS::Lambda::Function",
        "Properties": {
            "Runtime": "nodejs22.x",
            "Handler": "index.handler",
            "Role": "arn:aws:iam::123456789012:role/r",
            "TracingConfig": {"Mode": "Active"},
        },
    }
    review = review_path(write_assembly({f"Fn{i}": fn for i in range(200)}))
    text = report_markdown.render(review)
    assert len(text) < 65_536  # GitHub's comment limit
    assert "<details><summary>200 functions" in text
    assert "```mermaid" not in text and "--format html" in text
