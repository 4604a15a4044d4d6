"""End to end: the trace map and ``verify`` over what ``make demo`` really collected.

Uses the shared demo run (``demo``, conftest.py). The map's function nodes are
identified through ``verify``'s matcher (by deployed name, the layer's
``Service`` annotation or the handler), so the assertions hold for today's
local traces (the layer's subsegments only) and for connected ones (the
Lambda service's segments emulated in front of each function).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from cdk_lambda_xray.local.runner import RunResult
from cdk_lambda_xray.local.tracemap import MapNode, TraceMap, map_from_documents
from cdk_lambda_xray.review.assembly import load_assembly
from cdk_lambda_xray.review.build import build_model
from cdk_lambda_xray.verify.cli import main as verify_main
from cdk_lambda_xray.verify.match import Matcher

pytestmark = pytest.mark.e2e

STACK = "LambdaXrayReference"


def _work(result: RunResult) -> Path:
    assert result.html_path is not None, "the demo wrote no traces page"
    return result.html_path.parent


def _by_path(trace_map: TraceMap, matcher: Matcher, kind: str) -> dict[str, MapNode]:
    """Map nodes of ``kind`` keyed by the construct path of what they are in the assembly."""
    found = {}
    for node in trace_map.nodes:
        rid = matcher.resource(node)
        if node.kind == kind and rid is not None:
            found[matcher.model.path_of(rid)] = node
    return found


def test_trace_map_of_the_demo_has_the_flows_services_and_counts(
    demo: tuple[RunResult, str],
) -> None:
    result, _ = demo
    assembly = load_assembly(_work(result) / "cdk.out")
    matcher = Matcher(assembly, build_model(assembly))
    trace_map = map_from_documents(result.documents)
    functions = _by_path(trace_map, matcher, "function")
    assert {
        f"{STACK}/RecordUpload",
        f"{STACK}/WriteObject",
        f"{STACK}/Notify",
    } <= set(functions)
    tables = _by_path(trace_map, matcher, "table")
    buckets = _by_path(trace_map, matcher, "bucket")
    table, writer_bucket = tables[f"{STACK}/Table"], buckets[f"{STACK}/WriterBucket"]

    def count(source: MapNode, target: MapNode) -> int:
        return sum(e.count for e in trace_map.edges_between(source.key, target.key))

    record, writer, notify = (
        functions[f"{STACK}/{n}"] for n in ("RecordUpload", "WriteObject", "Notify")
    )
    assert count(record, table) == 1  # one upload, one PutItem
    assert count(notify, table) == 1  # one message, one PutItem
    assert count(writer, writer_bucket) == 1  # the failing invocation writes nothing
    dynamodb = trace_map.node("service:DynamoDB")
    assert dynamodb is not None and count(record, dynamodb) == 1  # ListTables
    assert (writer.recorded, writer.faults) == (2, 1)  # invoke and the failure flow
    for edge in trace_map.edges:
        assert edge.avg_ms is not None and edge.p95_ms is not None and edge.p95_ms >= 0


def test_demo_ends_with_verify_and_it_passes(demo: tuple[RunResult, str]) -> None:
    result, text = demo
    last = result.steps[-1]
    assert last.title.startswith("verify"), [s.title for s in result.steps]
    assert last.ok, last.detail
    assert "0 missing" in last.detail
    assert "0 missing" in (_work(result) / "verify.md").read_text(encoding="utf-8")
    assert "verify: the template's promised hops" in text
    assert "trace map: " in text  # the map's table, printed before the check


def test_verify_command_on_the_demo_files_and_without_one_flow(
    demo: tuple[RunResult, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result, _ = demo
    work = _work(result)
    assert verify_main([str(work / "cdk.out"), str(work / "traces.jsonl")]) == 0
    # without the SNS flow's trace, Notify's call to the table was never seen
    notify = result.flow_traces["publish"]
    assert notify is not None
    lines = (work / "traces.jsonl").read_text(encoding="utf-8").splitlines()
    kept = [line for line in lines if notify.trace_id not in line]
    assert len(kept) < len(lines)
    without = tmp_path / "without-publish.jsonl"
    without.write_text("\n".join(kept) + "\n", encoding="utf-8")
    capsys.readouterr()
    assert verify_main([str(work / "cdk.out"), str(without)]) == 1
    out = capsys.readouterr().out
    missing = [line for line in out.splitlines() if "missing" in line]
    assert any(f"{STACK}/Notify" in line and f"{STACK}/Table" in line for line in missing), out
