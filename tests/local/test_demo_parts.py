"""The demo's pieces that run without deploying: flow matching, progress, work dir, CLI.

The flows are the reference app's own (``demo_flows.py`` next to ``app.py``),
loaded the way the ``demo`` command loads them.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

from cdk_lambda_xray.local import demo, runner
from cdk_lambda_xray.local.appdir import find_app_dir, load_flows
from cdk_lambda_xray.local.client_trace import CLIENT_SEGMENT_NAME
from cdk_lambda_xray.local.flows import (
    FlowContext,
    describe_invocation,
    find_flow_trace,
    missing_flows,
)
from cdk_lambda_xray.local.steps import Progress, StepFailed
from cdk_lambda_xray.local.traceview import build_traces

REPO_ROOT = Path(__file__).resolve().parents[2]
FLOWS = load_flows(REPO_ROOT / "demo_flows.py").flows

T = "1-6743a2b1-0123456789abcdef01234567"


def _doc(name: str, id_: str, parent: str, **kw: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "name": name,
        "id": id_,
        "trace_id": kw.pop("trace_id", T),
        "parent_id": parent,
        "type": "subsegment",
        "start_time": 1.0,
        "end_time": 1.1,
    }
    doc.update(kw)
    return doc


def _call(service: str, op: str, id_: str, parent: str, status: int = 200) -> dict[str, Any]:
    return _doc(
        service,
        id_,
        parent,
        namespace="aws",
        aws={"operation": op},
        http={"response": {"status": status}},
    )


UPLOAD = [
    _doc("## record_upload.handler", "1" * 16, "f" * 16),
    _call("DynamoDB", "ListTables", "2" * 16, "1" * 16),
    _call("DynamoDB", "PutItem", "3" * 16, "1" * 16),
]
SPEC = {s.key: s for s in FLOWS}


def test_flow_trace_needs_every_expected_call_with_status_200() -> None:
    assert find_flow_trace(build_traces(UPLOAD), SPEC["upload"]) is not None
    without_put = UPLOAD[:2]
    assert find_flow_trace(build_traces(without_put), SPEC["upload"]) is None
    failed_put = [*UPLOAD[:2], _call("DynamoDB", "PutItem", "3" * 16, "1" * 16, status=400)]
    assert find_flow_trace(build_traces(failed_put), SPEC["upload"]) is None


def test_failure_flow_needs_a_fault_with_the_message() -> None:
    ok = _doc("## write_object.handler", "4" * 16, "f" * 16)
    assert find_flow_trace(build_traces([ok]), SPEC["failure"]) is None
    fault = _doc(
        "## write_object.handler",
        "4" * 16,
        "f" * 16,
        fault=True,
        cause={"exceptions": [{"type": "ValueError", "message": "requested failure"}]},
    )
    assert find_flow_trace(build_traces([fault]), SPEC["failure"]) is not None
    # and a faulted writer never counts as the successful invoke flow
    put = _call("S3", "PutObject", "5" * 16, "4" * 16)
    assert find_flow_trace(build_traces([fault, put]), SPEC["invoke"]) is None


def _connected(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``docs`` under a client segment and the function segment they name as parent."""
    client = {"name": CLIENT_SEGMENT_NAME, "id": "c" * 16, "trace_id": T, "start_time": 1.0}
    function = {**_doc("fn", "f" * 16, "c" * 16), "origin": "AWS::Lambda::Function"}
    del function["type"]
    return [client, function, *docs]


def test_missing_flows_names_what_has_not_arrived() -> None:
    assert [s.key for s in missing_flows(UPLOAD, FLOWS)] == ["invoke", "publish", "failure"]
    connected = missing_flows(_connected(UPLOAD), FLOWS, connected=True)
    assert [s.key for s in connected] == ["invoke", "publish", "failure"]


def test_a_flow_trace_that_is_not_connected_counts_as_missing_when_asked() -> None:
    assert "upload" in [s.key for s in missing_flows(UPLOAD, FLOWS, connected=True)]


def test_progress_prints_start_and_result_with_timing() -> None:
    out = io.StringIO()
    progress = Progress(out, heartbeat=0.05)
    with progress.step("first") as step:
        step.detail = "fine"
    with pytest.raises(StepFailed), progress.step("second"):
        raise StepFailed("it broke")
    lines = out.getvalue().splitlines()
    assert lines[0] == "[ 1] first ..."
    assert lines[1].startswith("     ok (") and lines[1].endswith(" s)  fine")
    assert lines[2] == "[ 2] second ..."
    assert lines[3].startswith("     FAILED (") and lines[3].endswith("it broke")
    assert [r.ok for r in progress.records] == [True, False]


def test_progress_heartbeat_shows_a_long_step_is_alive() -> None:
    out = io.StringIO()
    progress = Progress(out, heartbeat=0.05)
    with progress.step("slow"):
        import time

        time.sleep(0.2)
    assert "... slow:" in out.getvalue()


def test_work_dir_is_cleared_of_the_previous_run_only(tmp_path: Path) -> None:
    (tmp_path / "cdk-home").mkdir()
    (tmp_path / "cdk-home" / "cache").write_text("old")
    (tmp_path / "traces.html").write_text("old")
    (tmp_path / "notes.txt").write_text("the user's")
    runner.prepare_work_dir(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_work_dir_is_cleared_of_temp_dirs_a_killed_run_left(tmp_path: Path) -> None:
    for name in (".ministack-abc123", ".cdk-tmp-def456"):
        (tmp_path / name / "inner").mkdir(parents=True)
    (tmp_path / ".keep-me").mkdir()
    runner.prepare_work_dir(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".keep-me"]


def test_app_dir_is_found_from_a_subdirectory(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("")
    (tmp_path / "cdk.json").write_text("{}")
    (tmp_path / "functions").mkdir()
    assert find_app_dir(tmp_path / "functions") == tmp_path.resolve()


def test_demo_without_an_app_explains_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert demo.main(["--app-dir", str(tmp_path)]) == 2
    assert "no CDK app found" in capsys.readouterr().err


def test_demo_with_a_missing_node_package_fails_fast_and_tears_down(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cli_root = tmp_path / "tools"  # a CDK CLI install without @aws-sdk/client-s3
    (cli_root / "node_modules" / ".bin").mkdir(parents=True)
    (cli_root / "node_modules" / ".bin" / "cdk").write_text("")
    monkeypatch.delenv("NODE_PATH", raising=False)
    out = io.StringIO()
    options = runner.RunOptions(
        app_dir=tmp_path, work_dir=tmp_path / "work", stack="Any", cli_root=cli_root
    )
    result = runner.run_app(options, out)
    assert not result.ok
    assert result.steps[0].detail.startswith("@aws-sdk/client-s3 not installed")
    assert "run `make setup` (npm ci)" in result.steps[0].detail
    assert [s.title for s in result.steps][-1].startswith("tear down")
    assert "demo FAILED (1 steps failed)" in out.getvalue()


# -- the flows file (the app's own knowledge, read by the generic runner) -------------


def test_the_reference_flows_file_declares_its_stack_and_four_flows() -> None:
    declared = load_flows(REPO_ROOT / "demo_flows.py")
    assert declared.stack == "LambdaXrayReference"
    assert [f.key for f in declared.flows] == ["upload", "invoke", "publish", "failure"]
    assert all(f.action is not None for f in declared.flows)


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("FLOWS = ()\n", "has no STACK (the stack to deploy, a string)"),
        ("STACK = 'S'\nFLOWS = [1]\n", "FLOWS must be a sequence of FlowSpec"),
        ("raise RuntimeError('boom')\n", "failed to load: RuntimeError: boom"),
        ("STACK = 'S'\nFLOWS = 3 +\n", "failed to load: SyntaxError"),
    ],
)
def test_a_broken_flows_file_is_one_line_naming_the_file(
    tmp_path: Path, source: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "cdk.json").write_text("{}")
    (tmp_path / "demo_flows.py").write_text(source)
    assert demo.main(["--app-dir", str(tmp_path)]) == demo.BAD_APP
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(tmp_path / "demo_flows.py") in err[0] and message in err[0]


def test_an_app_without_a_flows_file_is_told_what_it_needs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "cdk.json").write_text("{}")
    assert demo.main(["--app-dir", str(tmp_path)]) == demo.BAD_APP
    err = capsys.readouterr().err.strip()
    flows_file = tmp_path / "demo_flows.py"
    assert err == f"no flows file {flows_file} (it declares STACK and FLOWS, see docs/local.md)"


def test_a_flow_naming_an_output_the_stack_lacks_fails_naming_the_outputs() -> None:
    upload = SPEC["upload"]
    assert upload.action is not None
    context = FlowContext(client=_no_client, outputs={"TopicArn": "arn"}, stamp="20261130")
    with pytest.raises(StepFailed, match=r"no output 'UploadBucketName' \(outputs: TopicArn\)"):
        upload.action(context)


def _no_client(service: str) -> Any:
    raise AssertionError(f"no {service} call may happen before the output is found")


def test_an_expected_failure_that_returns_fails_the_step() -> None:
    with pytest.raises(StepFailed, match="expected the function to raise, it returned 1"):
        describe_invocation({"function_error": None, "payload": 1}, expect_error=True)
    raised = {"function_error": "Unhandled", "payload": {"errorMessage": "no"}}
    assert (
        describe_invocation(raised, expect_error=True)
        == "raised as asked: no (FunctionError Unhandled)"
    )
    with pytest.raises(StepFailed, match="function error Unhandled"):
        describe_invocation(raised, expect_error=False)
