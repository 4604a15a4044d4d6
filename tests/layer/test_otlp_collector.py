"""The local collector shows the layer's OTLP output as it shows its X-Ray output.

The same recording is sent twice over real UDP to the real collector: once in
the X-Ray format and once with ``LAMBDA_XRAY_FORMAT=otlp``. The documents the
collector keeps for the OTLP spans must be schema-valid and carry what the
trace view, the trace map and ``verify`` read — names, parents, namespaces,
the AWS operation and resources, the HTTP request and status, flags, the
exception — the same as the X-Ray documents.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from cdk_lambda_xray.local.collector import Collector
from cdk_lambda_xray.local.traceview import build_traces, render_text
from lambda_xray import _recorder, api, testing

TRACE_HEADER = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"


def _record_a_flow() -> None:
    with testing.invocation("app.handler", header=TRACE_HEADER):
        call = _recorder.begin_subsegment("DynamoDB", "aws")
        assert call is not None
        call.aws.update(operation="Query", region="us-east-1", table_name="orders")
        _recorder.end_subsegment(call, status=200)
        with api.subsegment("resize"):
            api.annotate("order_id", "o-1")
            api.metadata("size", {"w": 2, "h": 3})
            remote = _recorder.begin_subsegment("images.example.com", "remote")
            assert remote is not None
            remote.http["request"] = {"method": "GET", "url": "https://images.example.com/a"}
            _recorder.end_subsegment(remote, status=404)
        with pytest.raises(ValueError), api.subsegment("charge"):
            raise ValueError("card declined")


def _by_name(documents: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {doc["name"]: doc for doc in documents}


def _shape(doc: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    """What the local tools read from a document, with ids replaced by names."""
    exceptions = (doc.get("cause") or {}).get("exceptions") or []
    aws = doc.get("aws") or {}
    annotations = doc.get("annotations") or {}
    return {
        "parent": names.get(doc.get("parent_id", ""), doc.get("parent_id")),
        "namespace": doc.get("namespace"),
        "aws": {k: v for k, v in aws.items() if k in ("operation", "table_name")},
        "http": doc.get("http"),
        "flags": [f for f in ("error", "fault", "throttle") if doc.get(f)],
        "annotations": {k: v for k, v in annotations.items() if k != "ColdStart"},
        "exceptions": [(e.get("type"), e.get("message")) for e in exceptions],
    }


@pytest.fixture
def both_formats(
    collector: Collector, monkeypatch: pytest.MonkeyPatch
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    _record_a_flow()
    xray = collector.wait_for(lambda d: len(d) >= 5, timeout=10)
    collector.clear()
    monkeypatch.setenv("LAMBDA_XRAY_FORMAT", "otlp")
    testing.reset()
    _record_a_flow()
    otlp = collector.wait_for(lambda d: len(d) >= 5, timeout=10)
    assert collector.otlp_spans == len(otlp) == len(xray)
    assert collector.rejects == 0, collector.reject_reasons
    return xray, otlp


def test_otlp_spans_become_schema_valid_documents(
    both_formats: tuple[list[dict[str, Any]], list[dict[str, Any]]], assert_valid: Any
) -> None:
    _, otlp = both_formats
    assert_valid(otlp)


def test_both_formats_show_the_same_calls_under_the_same_parents(
    both_formats: tuple[list[dict[str, Any]], list[dict[str, Any]]],
) -> None:
    xray, otlp = both_formats
    shapes = []
    for documents in (xray, otlp):
        names = {doc["id"]: doc["name"] for doc in documents}
        names["53995c3f42cd8ad8"] = "(Lambda function segment)"
        shapes.append({doc["name"]: _shape(doc, names) for doc in documents})
    assert shapes[0] == shapes[1]
    got = shapes[1]
    assert set(got) == {"## app.handler", "DynamoDB", "resize", "images.example.com", "charge"}
    assert got["## app.handler"]["parent"] == "(Lambda function segment)"
    assert got["images.example.com"]["parent"] == "resize"
    assert got["DynamoDB"]["aws"] == {"operation": "Query", "table_name": "orders"}
    assert got["images.example.com"]["flags"] == ["error"]
    assert got["charge"]["flags"] == ["fault"]
    assert got["charge"]["exceptions"] == [("ValueError", "card declined")]
    assert got["resize"]["annotations"] == {"order_id": "o-1"}


def test_the_trace_view_draws_both_formats_alike(
    both_formats: tuple[list[dict[str, Any]], list[dict[str, Any]]],
) -> None:
    xray, otlp = both_formats

    def lines(documents: list[dict[str, Any]]) -> list[str]:
        text = render_text(build_traces(documents), color=False)
        # Durations and bars differ between the two runs; the tree, names and flags do not.
        return [
            " ".join(re.sub(r"\d+(\.\d+)? ms|[\u2580-\u259f]", "", line).split())
            for line in text.splitlines()
            if line.strip()
        ]

    assert lines(otlp) == lines(xray)
    assert any("images.example.com" in line for line in lines(otlp))


def test_metadata_comes_back_under_its_namespace(
    both_formats: tuple[list[dict[str, Any]], list[dict[str, Any]]],
) -> None:
    xray, otlp = both_formats
    assert _by_name(otlp)["resize"]["metadata"] == _by_name(xray)["resize"]["metadata"]


def test_unsampled_spans_are_counted_not_shown(
    collector: Collector, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LAMBDA_XRAY_FORMAT", "otlp")
    monkeypatch.setenv("LAMBDA_XRAY_OTLP_UNSAMPLED", "true")
    testing.reset()
    unsampled = TRACE_HEADER.replace("Sampled=1", "Sampled=0")
    with testing.invocation("app.handler", header=unsampled), api.subsegment("work"):
        pass
    deadline_docs = collector.wait_for(lambda _: collector.unsampled_spans >= 2, timeout=10)
    assert deadline_docs == []
    assert collector.unsampled_spans == 2
    assert collector.rejects == 0
