"""The trace map: nodes found as X-Ray finds them, edges aggregated (count, avg, p95, flags).

Documents are built here in the shapes the layer and the Lambda service send
(the e2e test checks the map of the real demo); rendering is checked on what
a reader sees: the table's rows and the SVG's nodes and edges.
"""

from __future__ import annotations

import json
import math
import os
import re
from html.parser import HTMLParser
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cdk_lambda_xray.local.tracemap import map_from_documents, percentile
from cdk_lambda_xray.local.tracemap_render import render_map_text
from cdk_lambda_xray.local.tracepage import render_html
from cdk_lambda_xray.local.traceview import build_traces

TRACE = "1-6b0d162b-b6233f7e112574d3cd214b7d"
T0 = 1_796_019_757.0


def _id() -> str:
    return os.urandom(8).hex()


def handler(
    name: str = "record_upload.handler", service: str = "record-upload", **extra: Any
) -> dict[str, Any]:
    """The layer's ``## handler`` subsegment, under a parent nobody sent (today's local traces)."""
    return {
        "type": "subsegment",
        "id": _id(),
        "trace_id": extra.pop("trace_id", TRACE),
        "parent_id": extra.pop("parent_id", _id()),
        "name": f"## {name}",
        "start_time": T0,
        "end_time": T0 + 1,
        "annotations": {"ColdStart": False, "Service": service},
        **extra,
    }


def call(parent: dict[str, Any], service: str, ms: float, **extra: Any) -> dict[str, Any]:
    """A call subsegment the layer records for an SDK call (``aws``) or an HTTP call."""
    aws = extra.pop("aws", {})
    status = extra.pop("status", 200)
    return {
        "type": "subsegment",
        "id": _id(),
        "trace_id": parent["trace_id"],
        "parent_id": parent["id"],
        "name": service,
        "namespace": extra.pop("namespace", "aws"),
        "start_time": T0,
        "end_time": T0 + ms / 1000,
        "http": {"response": {"status": status}},
        "aws": {"operation": "PutItem", **aws},
        **extra,
    }


def test_calls_are_aggregated_with_count_average_and_p95() -> None:
    root = handler()
    table = {"table_name": "LambdaXrayReference-TableCD117FA1-E3E15EE480FCB"}
    docs = [root] + [call(root, "DynamoDB", ms, aws=table) for ms in range(1, 21)]
    trace_map = map_from_documents(docs)
    [edge] = trace_map.edges
    assert edge.source == "function:record-upload"
    assert edge.target == "table:LambdaXrayReference-TableCD117FA1-E3E15EE480FCB"
    assert edge.count == 20
    assert edge.avg_ms == pytest.approx(10.5, abs=1e-3)
    assert edge.p95_ms == pytest.approx(19.0, abs=1e-3)  # nearest rank: the 19th of 20
    assert (edge.errors, edge.throttles, edge.faults) == (0, 0, 0)


def test_percentile_is_nearest_rank() -> None:
    assert percentile([], 0.95) is None
    assert percentile([5.0], 0.95) == 5.0
    assert percentile([float(v) for v in range(100, 0, -1)], 0.95) == 95.0


def test_error_throttle_and_fault_are_counted_per_request() -> None:
    root = handler()
    docs = [
        root,
        call(root, "DynamoDB", 5, status=429),  # throttled: throttle and error
        call(root, "DynamoDB", 5, status=400, error=True),
        call(root, "DynamoDB", 5, status=503, fault=True),
        call(root, "DynamoDB", 5),
    ]
    [edge] = map_from_documents(docs).edges
    assert edge.target == "service:DynamoDB"
    assert (edge.count, edge.errors, edge.throttles, edge.faults) == (4, 2, 1, 1)
    assert edge.flags == ("fault", "error", "throttle")


def test_a_faulty_handler_marks_its_function_node() -> None:
    docs = [handler(fault=True), handler()]
    [node] = map_from_documents(docs).nodes
    assert (node.kind, node.raw_name, node.recorded, node.faults) == (
        "function",
        "record-upload",
        2,
        1,
    )
    assert node.handlers == ("record_upload.handler",)


def test_without_a_service_annotation_the_function_is_named_by_its_handler() -> None:
    root = handler()
    del root["annotations"]
    [node] = map_from_documents([root]).nodes
    assert node.key == "function:record_upload.handler"


def test_resources_are_named_by_the_fields_the_layer_records() -> None:
    root = handler()
    docs = [
        root,
        call(root, "S3", 3, aws={"bucket_name": "uploads-1"}),
        call(root, "SQS", 3, aws={"queue_url": "http://localhost:4566/000000000000/jobs"}),
        call(root, "SNS", 3, aws={"topic_arn": "arn:aws:sns:us-east-1:000000000000:news"}),
        call(root, "Lambda", 3, aws={"function_name": "arn:aws:lambda:us-east-1:1:function:f2"}),
        call(root, "api.example.com", 3, namespace="remote"),
        call(root, "DynamoDB", 3),
    ]
    targets = {e.target for e in map_from_documents(docs).edges}
    assert targets == {
        "bucket:uploads-1",
        "queue:jobs",
        "topic:news",
        "lambda:f2",
        "remote:api.example.com",
        "service:DynamoDB",
    }


def _connected_flow() -> list[dict[str, Any]]:
    """client -> S3 PutObject -> AWS::Lambda -> AWS::Lambda::Function -> ## handler -> DynamoDB."""
    trace = "1-6b0d162b-0123456789abcdef01234567"
    put = {
        "id": _id(),
        "name": "S3",
        "namespace": "aws",
        "start_time": T0,
        "end_time": T0 + 0.5,
        "aws": {"operation": "PutObject", "bucket_name": "uploads-1"},
    }
    client = {
        "id": _id(),
        "trace_id": trace,
        "name": "demo client",
        "start_time": T0,
        "end_time": T0 + 0.6,
        "subsegments": [put],
    }
    lam = {
        "id": _id(),
        "trace_id": trace,
        "parent_id": put["id"],
        "name": "RecordUpload",
        "origin": "AWS::Lambda",
        "start_time": T0 + 0.1,
        "end_time": T0 + 0.4,
    }
    function = {
        "id": _id(),
        "trace_id": trace,
        "parent_id": lam["id"],
        "name": "RecordUpload",
        "origin": "AWS::Lambda::Function",
        "start_time": T0 + 0.15,
        "end_time": T0 + 0.4,
    }
    root = handler(trace_id=trace, parent_id=function["id"])
    return [client, lam, function, root, call(root, "DynamoDB", 7, aws={"table_name": "T"})]


def test_connected_traces_give_the_chain_from_client_to_table() -> None:
    trace_map = map_from_documents(_connected_flow())
    edges = {(e.source, e.target): e.count for e in trace_map.edges}
    assert edges == {
        ("client:demo client", "bucket:uploads-1"): 1,
        ("bucket:uploads-1", "lambda:RecordUpload"): 1,
        ("lambda:RecordUpload", "function:RecordUpload"): 1,
        ("function:RecordUpload", "table:T"): 1,
    }
    function = trace_map.node("function:RecordUpload")
    assert function is not None and function.recorded == 1
    assert function.services == ("record-upload",)  # the layer's annotation, for matching


def test_an_invoke_call_and_the_lambda_segment_it_caused_are_one_hop() -> None:
    docs = _connected_flow()
    client, lam = docs[0], docs[1]
    client["subsegments"][0]["name"] = "Lambda"
    client["subsegments"][0]["aws"] = {"operation": "Invoke", "function_name": lam["name"]}
    edges = {(e.source, e.target) for e in map_from_documents(docs).edges}
    assert ("client:demo client", "lambda:RecordUpload") in edges
    assert all(source != target for source, target in edges)


def test_the_table_lists_every_edge_and_keeps_the_end_of_long_names() -> None:
    root = handler(service="s" * 80 + "-tail")
    text = render_map_text(map_from_documents([root, call(root, "DynamoDB", 4)]))
    lines = text.splitlines()
    assert lines[0] == "trace map: 2 nodes, 1 edges"
    assert "-tail" in lines[2] and "AWS: DynamoDB" in lines[2]
    assert re.search(r" 1 +4\.0 ms +4\.0 ms +0 +0 +0$", lines[2]), lines[2]


class _Svg(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.nodes: list[str] = []
        self.edges: list[tuple[str, str]] = []
        self.in_map = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "svg" and "trace-map" in a.get("class", ""):
            self.in_map = True
        if self.in_map and tag == "g":
            self.nodes.append(a["data-key"])
        if self.in_map and tag == "path":
            self.edges.append((a["data-from"], a["data-to"]))

    def handle_endtag(self, tag: str) -> None:
        if tag == "svg":
            self.in_map = False


def test_the_page_draws_a_node_per_service_and_a_path_per_edge() -> None:
    docs = _connected_flow()
    trace_map = map_from_documents(docs)
    parser = _Svg()
    parser.feed(render_html(build_traces(docs)))
    assert sorted(parser.nodes) == sorted(n.key for n in trace_map.nodes)
    assert sorted(parser.edges) == sorted((e.source, e.target) for e in trace_map.edges)


def test_hostile_names_are_escaped_in_the_page_and_the_table() -> None:
    root = handler(service="<script>alert(1)</script>\x1b]0;x\x07")
    page = render_html(build_traces([root, call(root, "<b>x</b>", 1, namespace="remote")]))
    assert "<script>alert" not in page and "<b>x</b>" not in page
    text = render_map_text(map_from_documents([root]))
    assert "\x1b" not in text and "\\x1b" in text


def test_odd_documents_add_what_they_can() -> None:
    root = handler()
    docs: list[Any] = [
        5,
        "text",
        None,
        {},
        {"id": 3, "name": ["x"], "namespace": "aws"},
        root,
        call(root, "DynamoDB", 1, start_time=math.nan, end_time="x"),
        {**call(root, "DynamoDB", 2), "aws": "not an object"},
    ]
    trace_map = map_from_documents(docs)
    edge = trace_map.edges_between("function:record-upload", "service:DynamoDB")[0]
    assert edge.count == 2
    assert edge.avg_ms == pytest.approx(2.0, abs=1e-3)  # the call without times has no duration


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)
_field = st.sampled_from(
    [
        "id",
        "trace_id",
        "parent_id",
        "name",
        "namespace",
        "origin",
        "type",
        "aws",
        "http",
        "start_time",
        "end_time",
        "subsegments",
        "annotations",
        "fault",
        "error",
        "throttle",
    ]
)
_value = st.one_of(
    _json,
    st.sampled_from(["aws", "remote", "AWS::Lambda", "AWS::Lambda::Function", "subsegment", "a"]),
    st.fixed_dictionaries({}, optional={"table_name": st.text(max_size=4), "queue_url": _json}),
)
_document = st.one_of(_json, st.dictionaries(_field, _value, max_size=10))


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_document, max_size=12))
def test_the_map_never_raises_and_every_edge_joins_two_nodes(docs: list[Any]) -> None:
    trace_map = map_from_documents(docs)
    keys = {n.key for n in trace_map.nodes}
    for edge in trace_map.edges:
        assert {edge.source, edge.target} <= keys
        assert edge.count >= 1 and edge.source != edge.target
        assert edge.avg_ms is None or edge.avg_ms >= 0
    render_map_text(trace_map)


def test_the_traces_command_prints_the_map_after_the_trees(
    tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    from cdk_lambda_xray.local.traceview_cli import main

    path = tmp_path / "t.jsonl"
    path.write_text("".join(json.dumps(d) + "\n" for d in _connected_flow()), encoding="utf-8")
    assert main([str(path), "--no-color"]) == 0
    out = capsys.readouterr().out
    trees, _, table = out.partition("trace map: 5 nodes, 4 edges\n")
    assert "## record_upload.handler" in trees
    rows = table.splitlines()[1:]
    assert any(r.startswith("client: demo client") and "S3 bucket: uploads-1" in r for r in rows)
    assert len(rows) == 4


def test_a_fault_inside_a_function_marks_it_once_and_a_failed_call_marks_the_callee() -> None:
    docs = _connected_flow()
    handler_doc, table_call = docs[3], docs[4]
    handler_doc["fault"] = True  # the handler raised: its function segment was not flagged
    table_call["fault"] = True  # and the call before it failed
    trace_map = map_from_documents(docs)
    function = trace_map.node("function:RecordUpload")
    lam = trace_map.node("lambda:RecordUpload")
    assert function is not None and lam is not None
    assert (function.recorded, function.faults) == (1, 1)
    assert lam.faults == 0
    [edge] = trace_map.edges_between("function:RecordUpload", "table:T")
    assert edge.faults == 1
