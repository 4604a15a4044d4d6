"""``verify``: the reference app's promised hops against traces the real layer produced.

The traces come from the reference app's own handlers run under the layer
(``tests/verify/trace_kit.py``: real botocore over real HTTP to a local
server), as the local demo collects them today (no Lambda service segments),
and connected as AWS sends them (client, ``AWS::Lambda`` and
``AWS::Lambda::Function`` segments around the layer's documents).
"""

from __future__ import annotations

import copy
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cdk_lambda_xray.__main__ import main as cli_main
from cdk_lambda_xray.local.tracemap import map_from_documents
from cdk_lambda_xray.review.assembly import load_assembly
from cdk_lambda_xray.review.build import build_model
from cdk_lambda_xray.verify import HopState, verify_map
from cdk_lambda_xray.verify.match import Matcher

KIT = Path(__file__).resolve().parents[1] / "verify"
if str(KIT) not in sys.path:
    sys.path.insert(0, str(KIT))

import trace_kit  # noqa: E402

Run = Callable[..., tuple[int, str, str]]


@pytest.fixture(scope="module")
def flows() -> dict[str, Any]:
    return trace_kit.reference_flows()


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str]) -> Run:
    def _run(*argv: str) -> tuple[int, str, str]:
        code = cli_main(["verify", *argv])
        out, err = capsys.readouterr()
        return code, out, err

    return _run


def _write(tmp_path: Path, name: str, documents: list[Any]) -> str:
    return str(trace_kit.write_jsonl(tmp_path / name, documents))


def _json_report(run: Run, cdk_out: Path, traces: str, *extra: str) -> tuple[int, dict[str, Any]]:
    code, out, _ = run(str(cdk_out), traces, "--format", "json", *extra)
    return code, json.loads(out)


def _hops(report: dict[str, Any], state: str) -> set[tuple[str, str]]:
    return {(h["from"], h["to"]) for h in report["hops"] if h["state"] == state}


USER_CALLS = {
    ("LambdaXrayReference/RecordUpload", "LambdaXrayReference/Table"),
    ("LambdaXrayReference/RecordUpload", "dynamodb (*)"),
    ("LambdaXrayReference/Notify", "LambdaXrayReference/Table"),
    ("LambdaXrayReference/WriteObject", "LambdaXrayReference/WriterBucket"),
}
EVENT_SOURCES = {
    ("LambdaXrayReference/UploadBucket", "LambdaXrayReference/RecordUpload"),
    ("LambdaXrayReference/Topic", "LambdaXrayReference/Notify"),
}


def test_todays_local_traces_verify_clean(
    run: Run, reference_out: Path, flows: dict[str, Any], tmp_path: Path
) -> None:
    traces = _write(tmp_path, "t.jsonl", trace_kit.disconnected(flows))
    code, report = _json_report(run, reference_out, traces, "--fail-on", "missing")
    assert code == 0, report["summary"]
    assert _hops(report, "observed") == USER_CALLS
    # nothing in front of a function was sent: the hops into them cannot be seen, and say so
    assert _hops(report, "unobservable") == EVENT_SOURCES
    assert report["findings"] == []


def test_connected_traces_show_every_hop_from_the_event_source(
    run: Run, reference_out: Path, flows: dict[str, Any], tmp_path: Path
) -> None:
    traces = _write(tmp_path, "t.jsonl", trace_kit.connect(flows))
    code, report = _json_report(run, reference_out, traces)
    assert code == 0, report["summary"]
    assert _hops(report, "observed") == USER_CALLS | EVENT_SOURCES
    counts = {(h["from"], h["to"]): h["requests"] for h in report["hops"]}
    assert counts[("LambdaXrayReference/WriteObject", "LambdaXrayReference/WriterBucket")] == 1
    # the CDK-internal notifications handler ran at deploy time only: a gap, with the reason
    [gap] = [h for h in report["hops"] if h["state"] == "gap"]
    assert "CDK-internal" in gap["reason"]
    assert {f["kind"] for f in report["findings"]} == {"client"}


@pytest.mark.parametrize("connected", [False, True], ids=["local", "connected"])
def test_a_flow_that_did_not_run_fails_naming_its_hops(
    run: Run, reference_out: Path, flows: dict[str, Any], tmp_path: Path, connected: bool
) -> None:
    kept = {k: v for k, v in flows.items() if k != "publish"}
    docs = trace_kit.connect(kept) if connected else trace_kit.disconnected(kept)
    traces = _write(tmp_path, "t.jsonl", docs)
    code, out, err = run(str(reference_out), traces, "--fail-on", "missing")
    assert code == 1
    assert "FAIL (--fail-on missing)" in err
    missing_line = next(line for line in out.splitlines() if "LambdaXrayReference/Notify" in line)
    assert "missing" in missing_line and "not exercised" in missing_line
    code, report = _json_report(run, reference_out, traces)
    expected = {("LambdaXrayReference/Notify", "LambdaXrayReference/Table")}
    if connected:
        expected.add(("LambdaXrayReference/Topic", "LambdaXrayReference/Notify"))
    assert _hops(report, "missing") == expected
    assert report["failed"] is True
    assert run(str(reference_out), traces, "--fail-on", "none")[0] == 0


def test_a_function_that_ran_without_its_call_is_missing_that_call(
    run: Run, reference_out: Path, flows: dict[str, Any], tmp_path: Path
) -> None:
    docs = [d for d in trace_kit.disconnected(flows) if d.get("name") != "S3"]
    code, report = _json_report(run, reference_out, _write(tmp_path, "t.jsonl", docs))
    assert code == 1
    [hop] = [h for h in report["hops"] if h["state"] == "missing"]
    assert (hop["from"], hop["to"]) == (
        "LambdaXrayReference/WriteObject",
        "LambdaXrayReference/WriterBucket",
    )
    assert "ran (2 recorded) but never called it" in hop["reason"]


def test_an_undeclared_call_is_reported(
    run: Run, reference_out: Path, flows: dict[str, Any], tmp_path: Path
) -> None:
    docs = trace_kit.disconnected(flows)
    writer = next(d for d in docs if d["name"] == "## write_object.handler")
    extra = copy.deepcopy(next(d for d in docs if "table_name" in d.get("aws", {})))
    extra.update(id="00000000000000aa", trace_id=writer["trace_id"], parent_id=writer["id"])
    traces = _write(tmp_path, "t.jsonl", [*docs, extra])
    code, report = _json_report(run, reference_out, traces)
    assert code == 0  # the default gate is on missing hops only
    [finding] = report["findings"]
    assert finding["kind"] == "undeclared"
    assert finding["from"] == "LambdaXrayReference/WriteObject"
    assert finding["to"].startswith("table LambdaXrayReference-TableCD117FA1")
    assert run(str(reference_out), traces, "--fail-on", "undeclared")[0] == 1


def test_an_event_source_the_templates_do_not_declare_is_reported(
    run: Run, reference_out: Path, flows: dict[str, Any], tmp_path: Path
) -> None:
    docs = trace_kit.connect({"publish": flows["publish"]})
    for doc in docs:  # the notify function, triggered by the writer's bucket instead
        for sub in doc.get("subsegments", []):
            sub["name"] = "S3"
            sub["aws"] = {"operation": "PutObject", "bucket_name": trace_kit.WRITER_BUCKET}
    code, report = _json_report(run, reference_out, _write(tmp_path, "t.jsonl", docs))
    assert code == 1  # and the topic's hop, promised, was not seen
    assert ("LambdaXrayReference/Topic", "LambdaXrayReference/Notify") in _hops(report, "missing")
    undeclared = [f for f in report["findings"] if f["kind"] == "undeclared"]
    assert [(f["from"], f["reason"]) for f in undeclared] == [
        (
            f"bucket {trace_kit.WRITER_BUCKET}",
            "invokes the function, but the templates declare no such event source",
        )
    ]


def test_html_and_markdown_reports_escape_what_the_traces_name(
    run: Run, reference_out: Path, tmp_path: Path
) -> None:
    hostile = "<img src=x onerror=alert(1)>|`**x**`"
    root = {
        "type": "subsegment",
        "id": "0123456789abcdef",
        "trace_id": "1-6b0d162b-b6233f7e112574d3cd214b7d",
        "parent_id": "0123456789abcde0",
        "name": "## x.handler",
        "start_time": 1.0,
        "end_time": 2.0,
        "annotations": {"Service": hostile},
    }
    sub = {**root, "id": "0123456789abcde1", "parent_id": root["id"], "name": "api"}
    sub.update(namespace="remote")
    traces = _write(tmp_path, "t.jsonl", [root, sub])
    out_dir = tmp_path / "reports"
    code, _, err = run(
        str(reference_out), traces, "--format", "md,html,json", "--output", str(out_dir)
    )
    assert code == 1  # nothing of the app ran
    assert err.count("wrote ") == 3
    html = (out_dir / "verify.html").read_text()
    assert "<img" not in html and "&lt;img src=x" in html
    markdown = (out_dir / "verify.md").read_text()
    # only inside a code span that no backtick in the name can close (as the review quotes)
    assert markdown.count("<img") == 1
    assert "| `` function <img src=x onerror=alert(1)>\\|`**x**` `` |" in markdown
    report = json.loads((out_dir / "verify.json").read_text())
    assert report["findings"][0]["kind"] == "unknown function"


def _one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def test_bad_inputs_give_one_line_and_exit_2(
    run: Run, reference_out: Path, flows: dict[str, Any], tmp_path: Path
) -> None:
    good = _write(tmp_path, "t.jsonl", trace_kit.disconnected(flows))
    not_jsonl = tmp_path / "notes.txt"
    not_jsonl.write_text("these are not segment documents\n")
    binary = tmp_path / "bin.jsonl"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    empty_dir = tmp_path / "empty"
    empty_dir.mkdir()
    cases = {
        "no traces file": (str(reference_out), str(tmp_path / "missing.jsonl"), "no such file"),
        "not JSON lines": (str(reference_out), str(not_jsonl), "line 1"),
        "not UTF-8": (str(reference_out), str(binary), "not UTF-8"),
        "not an assembly": (str(empty_dir), good, "not a cloud assembly"),
        "no cdk.out": (str(tmp_path / "nope"), good, "does not exist"),
        "traces is a directory": (str(reference_out), str(empty_dir), "not a regular file"),
    }
    for case, (cdk_out, traces, expected) in cases.items():
        code, out, err = run(cdk_out, traces)
        assert code == 2, case
        assert out == "", case
        line = _one_error_line(err)
        assert line.startswith("verify: error: ") and expected in line, (case, line)
    code, _, err = run(str(reference_out))
    assert code == 2 and "(see --help)" in _one_error_line(err)


_doc = st.dictionaries(
    st.sampled_from(["id", "trace_id", "parent_id", "name", "namespace", "origin", "aws"]),
    st.one_of(
        st.text(max_size=12),
        st.sampled_from(["aws", "remote", "AWS::Lambda", "AWS::Lambda::Function", "## x.handler"]),
        st.fixed_dictionaries(
            {},
            optional={
                "table_name": st.sampled_from(["LambdaXrayReference-TableCD117FA1-X", "t"]),
                "bucket_name": st.text(max_size=6),
            },
        ),
        st.integers(),
        st.none(),
    ),
)


@pytest.fixture(scope="module")
def reference_model(reference_out: Path) -> tuple[Any, Matcher]:
    assembly = load_assembly(reference_out)
    model = build_model(assembly)
    return model, Matcher(assembly, model)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.one_of(_doc, st.integers(), st.text(max_size=4)), max_size=10))
def test_verify_never_raises_on_arbitrary_documents(
    reference_model: tuple[Any, Matcher], docs: list[Any]
) -> None:
    model, matcher = reference_model
    result = verify_map(model, matcher, map_from_documents(docs))
    assert len(result.hops) == len(model.event_sources) + len(model.downstream)
    assert all(isinstance(h.state, HopState) for h in result.hops)


def test_hops_that_cannot_be_seen_say_why(run: Run, broken_out: Path, tmp_path: Path) -> None:
    """The review's deliberately broken app: an SNS topic without active tracing."""
    traces = tmp_path / "empty.jsonl"
    traces.write_text("", encoding="utf-8")
    code, report = _json_report(run, broken_out, str(traces), "--fail-on", "none")
    assert code == 0
    gaps = [h for h in report["hops"] if h["state"] == "gap"]
    assert any(
        h["kind"] == "event source" and h["reason"].startswith("untraced hop: topic tracing")
        for h in gaps
    ), gaps


def test_calls_of_a_function_without_tracing_are_gaps(
    run: Run, write_assembly: Any, tmp_path: Path
) -> None:
    role = {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {}}}
    policy = {
        "Type": "AWS::IAM::Policy",
        "Properties": {
            "PolicyName": "p",
            "Roles": [{"Ref": "Role"}],
            "PolicyDocument": {
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": "dynamodb:PutItem",
                        "Resource": {"Fn::GetAtt": ["Table", "Arn"]},
                    }
                ]
            },
        },
    }
    function = {
        "Type": "AWS::Lambda::Function",
        "Properties": {
            "Runtime": "python3.12",
            "Handler": "index.handler",
            "Role": {"Fn::GetAtt": ["Role", "Arn"]},
            "Code": {"ZipFile": "def handler(e, c): return e"},
        },
    }
    table = {"Type": "AWS::DynamoDB::Table", "Properties": {}}
    cdk_out = write_assembly({"Role": role, "Policy": policy, "Fn": function, "Table": table})
    traces = tmp_path / "empty.jsonl"
    traces.write_text("", encoding="utf-8")
    code, report = _json_report(run, cdk_out, str(traces))
    assert code == 0  # nothing with tracing on was promised
    [hop] = report["hops"]
    assert (hop["state"], hop["to"]) == ("gap", "S/Table")
    assert hop["reason"].startswith("upstream without tracing")
