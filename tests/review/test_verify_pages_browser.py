"""The HTML pages as a user sees them: laid out by a real headless chromium, then measured.

Review report, traces page (with the trace map) and verify report: every node
of each graph is drawn and its name fits inside its box, no table cell's
content spills out of it, and the page is no wider than the window (no
horizontal scrolling because of a long name). Skipped, saying why, where
Debian's ``chromium`` is not installed.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from cdk_lambda_xray.local.tracemap import map_from_documents
from cdk_lambda_xray.local.tracepage import render_html as traces_page
from cdk_lambda_xray.local.traceview import build_traces
from cdk_lambda_xray.review import diagram, report_html
from cdk_lambda_xray.review.review import review_path
from cdk_lambda_xray.review.rules import Severity
from cdk_lambda_xray.verify.cli import verify_paths
from cdk_lambda_xray.verify.reports import render_html as verify_page

KIT = Path(__file__).resolve().parents[1] / "verify"
if str(KIT) not in sys.path:
    sys.path.insert(0, str(KIT))

import browser  # noqa: E402
import trace_kit  # noqa: E402

pytestmark = pytest.mark.skipif(browser.CHROMIUM is None, reason=browser.SKIP_REASON)


@pytest.fixture(scope="module")
def connected_traces(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Any]]:
    documents = trace_kit.connect(trace_kit.reference_flows())
    path = tmp_path_factory.mktemp("traces") / "traces.jsonl"
    return trace_kit.write_jsonl(path, documents), documents


@pytest.fixture(scope="module")
def pages(
    tmp_path_factory: pytest.TempPathFactory,
    reference_out: Path,
    connected_traces: tuple[Path, list[Any]],
) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("pages")
    traces_file, documents = connected_traces
    review = review_path(reference_out)
    texts = {
        "review": report_html.render(review, Severity.WARNING),
        "traces": traces_page(build_traces(documents), title="cdk-lambda-xray demo"),
        "verify": verify_page(verify_paths(reference_out, traces_file), "missing"),
    }
    for name, text in texts.items():
        (out / f"{name}.html").write_text(text, encoding="utf-8")
    return {name: out / f"{name}.html" for name in texts}


def _assert_readable(result: dict[str, Any]) -> None:
    assert result["page_width"] <= result["viewport"], "the page scrolls sideways"
    assert result["wide_cells"] == [], "content spills out of its table cell"
    for node in result["nodes"]:
        assert node["shown"], node
        assert node["inside"], f"{node['label']!r} is wider than its box: {node}"


def test_review_report_draws_every_service_map_node_inside_its_box(
    pages: dict[str, Path], reference_out: Path
) -> None:
    result = browser.layout(pages["review"])
    model = review_path(reference_out).model
    drawn = {n["key"] for n in result["nodes"] if n["svg"] == "service-map"}
    assert {f"fn:{rid}" for rid in model.functions} <= drawn
    assert len(drawn) == len(diagram.layout(model).nodes)
    _assert_readable(result)


def test_traces_page_draws_the_trace_map_with_every_service(
    pages: dict[str, Path], connected_traces: tuple[Path, list[Any]]
) -> None:
    result = browser.layout(pages["traces"])
    trace_map = map_from_documents(connected_traces[1])
    drawn = {n["key"] for n in result["nodes"] if n["svg"] == "trace-map"}
    assert drawn == {n.key for n in trace_map.nodes}
    assert {"client:demo client", f"bucket:{trace_kit.UPLOAD_BUCKET}"} <= drawn
    [svg] = [s for s in result["svgs"] if s["cls"] == "trace-map"]
    assert svg["right"] <= result["viewport"], "the map runs off the window"
    _assert_readable(result)


def test_verify_report_fits_the_window(pages: dict[str, Path]) -> None:
    result = browser.layout(pages["verify"])
    _assert_readable(result)


def test_the_measurement_sees_a_name_that_overflows_its_box(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, connected_traces: tuple[Path, list[Any]]
) -> None:
    """Control: with fitting switched off, the long names are caught spilling out."""
    monkeypatch.setattr(diagram, "FIT_CHARS", 10_000)
    page = tmp_path / "unfitted.html"
    page.write_text(traces_page(build_traces(connected_traces[1])), encoding="utf-8")
    result = browser.layout(page)
    assert any(not node["inside"] for node in result["nodes"])
