"""End to end: what ``make demo`` does, against MiniStack, with the real CDK CLI and layer.

One demo run (the session fixture ``demo``, conftest.py) deploys the reference app
(app.py in the repository root), runs its four flows and collects the traces; the tests
assert on what it saw.
"""

from __future__ import annotations

import json
from html import escape as html_escape
from pathlib import Path

import jsonschema  # type: ignore[import-untyped]
import pytest

from cdk_lambda_xray._contract import ENV_HANDLER, WRAPPER_HANDLER
from cdk_lambda_xray.local.appdir import load_flows
from cdk_lambda_xray.local.runner import RunResult
from cdk_lambda_xray.local.traceview import Node, Trace

pytestmark = pytest.mark.e2e

REPO_ROOT = Path(__file__).resolve().parents[2]
#: The reference app's flows (``demo_flows.py`` next to ``app.py``).
FLOWS = load_flows(REPO_ROOT / "demo_flows.py").flows
#: AWS's published segment document schema (tests/data holds a checked copy).
SCHEMA_PATH = REPO_ROOT / "tests" / "data" / "xray-segmentdocument-schema-v1.0.0.json"
#: The whole demo must stay well inside the issue's ~2 minute budget on 2 cores.
WALL_BUDGET_SECONDS = 150

APP_FUNCTIONS = {
    "record_upload.handler": "UploadFunctionName",
    "write_object.handler": "WriterFunctionName",
    "notify.handler": "NotifyFunctionName",
}


def _flow(result: RunResult, key: str) -> Trace:
    trace = result.flow_traces.get(key)
    assert trace is not None, f"no trace for flow {key!r}"
    return trace


def _handler_node(trace: Trace, handler: str) -> Node:
    nodes = [n for _, n in trace.nodes() if n.doc is not None and n.doc["name"] == f"## {handler}"]
    assert nodes, f"no '## {handler}' subsegment in trace {trace.trace_id}"
    return nodes[0]


def _calls(node: Node) -> list[tuple[str, str | None, int | None]]:
    return [
        (child.doc["name"], (child.doc.get("aws") or {}).get("operation"), child.status)
        for _, child in node.walk()
        if child is not node and child.doc is not None
    ]


def test_every_demo_step_succeeded(demo: tuple[RunResult, str]) -> None:
    result, text = demo
    failed = [f"{s.title}: {s.detail}" for s in result.steps if not s.ok]
    assert not failed, text
    assert "demo OK" in text


def test_demo_finishes_within_the_time_budget(demo: tuple[RunResult, str]) -> None:
    result, _ = demo
    assert result.wall_seconds < WALL_BUDGET_SECONDS


def test_read_back_matches_the_template(demo: tuple[RunResult, str]) -> None:
    result, _ = demo
    assert result.readback is not None
    assert result.readback.differences == []


@pytest.mark.parametrize("handler", sorted(APP_FUNCTIONS))
def test_deployed_function_is_traced_with_layer_and_redirected_handler(
    demo: tuple[RunResult, str], handler: str
) -> None:
    result, _ = demo
    assert result.readback is not None
    name = result.outputs[APP_FUNCTIONS[handler]]
    config = next(f for f in result.readback.functions.values() if f.name == name)
    assert config.tracing_mode == "Active"
    assert config.handler == WRAPPER_HANDLER
    assert config.environment[ENV_HANDLER] == handler
    assert len(config.layers) == 1 and ":layer:" in config.layers[0]


def test_s3_upload_trace_has_handler_and_dynamodb_calls_with_status_200(
    demo: tuple[RunResult, str],
) -> None:
    result, _ = demo
    node = _handler_node(_flow(result, "upload"), "record_upload.handler")
    calls = _calls(node)
    assert ("DynamoDB", "ListTables", 200) in calls
    assert ("DynamoDB", "PutItem", 200) in calls


def test_synchronous_invoke_trace_has_s3_put_object(demo: tuple[RunResult, str]) -> None:
    result, _ = demo
    node = _handler_node(_flow(result, "invoke"), "write_object.handler")
    assert ("S3", "PutObject", 200) in _calls(node)
    assert result.invocations["invoke"]["function_error"] is None


def test_sns_publish_produces_a_trace_of_the_notify_function(demo: tuple[RunResult, str]) -> None:
    result, _ = demo
    node = _handler_node(_flow(result, "publish"), "notify.handler")
    assert ("DynamoDB", "PutItem", 200) in _calls(node)


def test_first_invocation_of_each_function_is_marked_cold(demo: tuple[RunResult, str]) -> None:
    result, _ = demo
    for key in ("upload", "invoke", "publish"):
        assert _flow(result, key).cold_start, key
    assert not _flow(result, "failure").cold_start  # the writer's second, warm invocation


def test_failure_flow_shows_fault_and_exception_message(demo: tuple[RunResult, str]) -> None:
    result, _ = demo
    node = _handler_node(_flow(result, "failure"), "write_object.handler")
    assert "fault" in node.flags
    assert any("ValueError: requested failure" in m for m in node.exceptions)


def test_demo_reports_the_failure_flow(demo: tuple[RunResult, str]) -> None:
    result, text = demo
    assert result.invocations["failure"]["function_error"] == "Unhandled"
    assert "raised as asked: requested failure" in text
    assert "! ValueError: requested failure" in text


def test_every_received_document_validates_against_the_xray_schema(
    demo: tuple[RunResult, str],
) -> None:
    result, _ = demo
    validator = jsonschema.Draft4Validator(json.loads(SCHEMA_PATH.read_text()))
    assert result.documents
    invalid = {
        doc.get("name"): [e.message for e in validator.iter_errors(doc)]
        for doc in result.documents
        if not validator.is_valid(doc)
    }
    assert invalid == {}


def test_collector_counted_no_rejects(demo: tuple[RunResult, str]) -> None:
    result, _ = demo
    assert result.rejects == 0, result.reject_reasons


def _live_group_members(pgid: int) -> list[str]:
    """Processes of group ``pgid`` that still run (exited ones wait for init to reap them)."""
    live = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        state, pgrp = fields[0], int(fields[2])
        if pgrp == pgid and state != "Z":
            live.append(stat.parent.name)
    return live


def test_demo_leaves_no_emulator_process_behind(demo: tuple[RunResult, str]) -> None:
    result, _ = demo
    assert result.emulator_pid is not None
    assert _live_group_members(result.emulator_pid) == []  # MiniStack and its workers


def test_demo_writes_the_html_page_with_every_flow(demo: tuple[RunResult, str]) -> None:
    result, text = demo
    assert result.html_path is not None and result.html_path.is_file()
    html = result.html_path.read_text()
    for spec in FLOWS:
        trace = _flow(result, spec.key)
        assert trace.trace_id in html
        assert html_escape(spec.title) in html
    assert f"HTML page: {result.html_path}" in text
