"""Trace view: grouping, tree building, terminal rendering and the HTML page."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cdk_lambda_xray.local import traceview_cli
from cdk_lambda_xray.local.tracefile import append_document, load_documents
from cdk_lambda_xray.local.tracepage import render_html
from cdk_lambda_xray.local.traceview import build_traces, render_text

T1 = "1-6743a2b1-0123456789abcdef01234567"
T2 = "1-6743a2b2-89abcdef0123456789abcdef"
LAMBDA_PARENT = "f" * 16


def _sub(
    name: str, id_: str, parent: str, start: float, end: float | None, **kw: Any
) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "name": name,
        "id": id_,
        "trace_id": kw.pop("trace_id", T1),
        "parent_id": parent,
        "type": "subsegment",
        "start_time": start,
    }
    if end is None:
        doc["in_progress"] = True
    else:
        doc["end_time"] = end
    doc.update(kw)
    return doc


HANDLER = _sub(
    "## write_object.handler",
    "a" * 16,
    LAMBDA_PARENT,
    100.0,
    100.2,
    fault=True,
    annotations={"ColdStart": True, "Service": "write-object"},
    cause={"exceptions": [{"id": "e" * 16, "type": "ValueError", "message": "requested failure"}]},
)
PUT = _sub(
    "S3",
    "b" * 16,
    "a" * 16,
    100.05,
    100.1,
    namespace="aws",
    aws={"operation": "PutObject"},
    http={"response": {"status": 200}},
)
THROTTLED = _sub(
    "DynamoDB",
    "c" * 16,
    "a" * 16,
    100.12,
    100.15,
    namespace="aws",
    aws={"operation": "PutItem"},
    http={"response": {"status": 429}},
    error=True,
    throttle=True,
)
DOCS = [THROTTLED, PUT, HANDLER]


def test_documents_are_grouped_by_trace_id_oldest_first() -> None:
    other = _sub("## notify.handler", "d" * 16, LAMBDA_PARENT, 50.0, 50.1, trace_id=T2)
    traces = build_traces([*DOCS, other])
    assert [t.trace_id for t in traces] == [T2, T1]
    assert [t.document_count for t in traces] == [1, 3]


def test_unreceived_parent_becomes_one_placeholder_root() -> None:
    (trace,) = build_traces(DOCS)
    (root,) = trace.roots
    assert not root.received
    assert root.id == LAMBDA_PARENT
    assert [c.name for c in root.children] == ["## write_object.handler"]


def test_children_are_ordered_by_start_time() -> None:
    (trace,) = build_traces(DOCS)
    handler = trace.roots[0].children[0]
    assert [c.name for c in handler.children] == ["S3 PutObject", "DynamoDB PutItem"]


def test_embedded_subsegments_are_linked_to_their_container() -> None:
    segment = {
        "name": "api",
        "id": "1" * 16,
        "trace_id": T1,
        "start_time": 1.0,
        "end_time": 2.0,
        "subsegments": [{"name": "inner", "id": "2" * 16, "start_time": 1.1, "end_time": 1.2}],
    }
    (trace,) = build_traces([segment])
    (root,) = trace.roots
    assert root.received and [c.name for c in root.children] == ["inner"]


def test_complete_document_replaces_its_in_progress_version() -> None:
    partial = _sub("## h", "a" * 16, LAMBDA_PARENT, 1.0, None)
    complete = _sub("## h", "a" * 16, LAMBDA_PARENT, 1.0, 1.5)
    for order in ([partial, complete], [complete, partial]):
        (trace,) = build_traces(order)
        node = trace.roots[0].children[0]
        assert not node.in_progress and node.duration_ms == pytest.approx(500.0)


def test_node_reports_status_flags_exceptions_and_cold_start() -> None:
    (trace,) = build_traces(DOCS)
    handler = trace.roots[0].children[0]
    throttled = handler.children[1]
    assert handler.flags == ["fault"] and handler.cold_start
    assert handler.exceptions == ["ValueError: requested failure"]
    assert throttled.status == 429 and throttled.flags == ["error", "throttle"]
    assert trace.flags == ["fault", "error", "throttle"] and trace.cold_start


def test_text_shows_tree_durations_status_and_marks() -> None:
    text = render_text(build_traces(DOCS))
    lines = text.splitlines()
    assert lines[0].startswith(f"trace {T1}  200.0 ms  3 docs  FAULT, ERROR, THROTTLE, cold start")
    handler = next(line for line in lines if "## write_object.handler" in line)
    assert "200.0 ms" in handler and "FAULT" in handler and "cold start" in handler
    put = next(line for line in lines if "S3 PutObject" in line)
    assert "├─ S3 PutObject" in put and "50.0 ms" in put and put.rstrip().endswith("200")
    assert any("└─ DynamoDB PutItem" in line and "429 ERROR THROTTLE" in line for line in lines)
    assert any(line.strip() == "│  ! ValueError: requested failure" for line in lines)


def test_timeline_bars_are_placed_by_start_and_end() -> None:
    lines = render_text(build_traces(DOCS)).splitlines()
    put = next(line for line in lines if "S3 PutObject" in line)
    bar = put.split("|")[1]
    # S3 runs from 25 % to 50 % of the 200 ms trace.
    assert bar.index("█") == 8 and bar.count("█") == 8


def test_color_marks_faults_red_only_when_asked() -> None:
    traces = build_traces(DOCS)
    assert "\033[31m" in render_text(traces, color=True)
    assert "\033[" not in render_text(traces)


def test_no_documents_says_so() -> None:
    assert render_text([]) == "no traces received"


def test_html_page_shows_every_node_and_escapes_user_text() -> None:
    evil = _sub(
        "## h",
        "9" * 16,
        LAMBDA_PARENT,
        1.0,
        2.0,
        trace_id=T2,
        fault=True,
        cause={"exceptions": [{"type": "ValueError", "message": "<script>alert(1)</script>"}]},
    )
    html = render_html(build_traces([*DOCS, evil]), title="demo")
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    for name in ("## write_object.handler", "S3 PutObject", "DynamoDB PutItem"):
        assert name in html
    assert "requested failure" in html and "cold start" in html and ">429<" in html


def test_html_page_captions_labelled_traces() -> None:
    html = render_html(build_traces(DOCS), labels={T1: "invoke WriteObject -> S3"})
    assert '<div class="label">invoke WriteObject -&gt; S3</div>' in html


def test_documents_round_trip_through_a_json_lines_file(tmp_path: Path) -> None:
    path = tmp_path / "docs.jsonl"
    for doc in DOCS:
        append_document(path, doc)
    assert load_documents(path) == DOCS
    array = tmp_path / "docs.json"
    array.write_text(json.dumps(DOCS))
    assert load_documents(array) == DOCS


def test_traces_command_prints_trees_and_writes_html(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "docs.jsonl"
    path.write_text("".join(json.dumps(d) + "\n" for d in DOCS))
    html = tmp_path / "out" / "traces.html"
    assert traceview_cli.main([str(path), "--html", str(html), "--no-color"]) == 0
    out = capsys.readouterr().out
    assert "## write_object.handler" in out and f"HTML: {html}" in out
    assert html.is_file()


def test_traces_command_fails_for_an_unknown_trace_id(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "docs.jsonl"
    path.write_text(json.dumps(HANDLER) + "\n")
    assert traceview_cli.main([str(path), "--trace-id", T2]) == 1
    assert f"no trace {T2}" in capsys.readouterr().err


def test_traces_command_fails_for_an_unreadable_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert traceview_cli.main([str(tmp_path / "missing.jsonl")]) == 2
    assert "cannot read documents" in capsys.readouterr().err
