"""End to end: ``python -m cdk_lambda_xray local deploy|invoke|traces`` on an app that is not
the reference app (``examples/traced_hello``: one ``TracedFunction``), against the session's
shared emulator and collector (``local_aws``, conftest.py), each command a real process.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from cdk_lambda_xray.local.appdir import load_flows
from cdk_lambda_xray.local.client_trace import CLIENT_SEGMENT_NAME, disconnection
from cdk_lambda_xray.local.flows import find_flow_trace
from cdk_lambda_xray.local.localaws import LocalAws
from cdk_lambda_xray.local.traceview import Trace, build_traces

pytestmark = pytest.mark.e2e

REPO_ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = REPO_ROOT / "examples" / "traced_hello"


@dataclass(frozen=True)
class Run:
    """One finished command."""

    code: int
    out: str
    err: str


def _local(*args: str, cwd: Path) -> Run:
    proc = subprocess.run(
        [sys.executable, "-m", "cdk_lambda_xray", "local", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    return Run(proc.returncode, proc.stdout, proc.stderr)


@dataclass(frozen=True)
class Session:
    """What the user ran, in order, and the shared local AWS it ran against."""

    deploy: Run
    invoke: Run
    failure: Run
    missing: Run
    traces: Run
    local: LocalAws


@pytest.fixture(scope="module")
def session(local_aws: LocalAws, tmp_path_factory: pytest.TempPathFactory) -> Session:
    work = tmp_path_factory.mktemp("local-cli")
    where = ["--work-dir", str(work), "--endpoint-url", local_aws.endpoint_url]
    # No --stack: the example's demo_flows.py names it.
    deploy = _local("deploy", "--app-dir", str(EXAMPLE), *where, cwd=work)
    print(deploy.out, deploy.err)  # shown with -s or on failure
    collector = ["--daemon-address", local_aws.daemon_address]
    invoke = _local(
        "invoke", "HelloFunctionName", "--payload", '{"name": "e2e"}', *where, *collector, cwd=work
    )
    failure = _local(
        "invoke", "HelloFunctionName", "--payload", '{"fail": true}', *where, *collector, cwd=work
    )
    missing = _local("invoke", "NoSuchFunction", *where, *collector, cwd=work)
    traces = _local(
        "traces",
        "--file",
        str(local_aws.traces_path),
        "--wait-for",
        "hello.handler",
        "--no-color",
        cwd=work,
    )
    return Session(deploy, invoke, failure, missing, traces, local_aws)


def test_deploy_reads_the_example_back_and_prints_its_output(session: Session) -> None:
    assert session.deploy.code == 0, session.deploy.err
    assert "cdk deploy TracedHello" in session.deploy.out
    assert "0 differences" in session.deploy.out
    assert "tracing Active, handler lambda_xray.handler.handler -> hello.handler" in (
        session.deploy.out
    )
    assert "HelloFunctionName = TracedHello-Hello" in session.deploy.out


def test_deploy_into_a_bootstrapped_emulator_does_not_bootstrap_again(session: Session) -> None:
    assert "cdk bootstrap" not in session.deploy.out


def test_invoke_by_output_key_prints_the_function_result(session: Session) -> None:
    assert (session.invoke.code, session.invoke.err) == (0, "")
    assert json.loads(session.invoke.out)["greeting"] == "hello, e2e"


def test_a_function_that_raises_is_one_line_and_exit_status_1(session: Session) -> None:
    assert session.failure.code == 1
    assert session.failure.err.strip().splitlines() == [
        "python -m cdk_lambda_xray local invoke: function error Unhandled: asked to fail"
    ]


def test_invoking_a_function_that_does_not_exist_is_one_line_and_status_1(
    session: Session,
) -> None:
    assert session.missing.code == 1
    lines = session.missing.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("python -m cdk_lambda_xray local invoke: ")
    assert "NoSuchFunction" in lines[0] or "not found" in lines[0].lower()


def test_traces_show_the_handler_and_its_call_under_the_client(session: Session) -> None:
    assert session.traces.code == 0, session.traces.err
    text = session.traces.out
    assert "## hello.handler" in text
    assert "DynamoDB ListTables" in text
    assert "ValueError: asked to fail" in text


def test_the_example_s_flows_file_matches_what_the_cli_produced(session: Session) -> None:
    """Each flow of ``examples/traced_hello/demo_flows.py`` finds its expected trace."""
    traces = build_traces(session.local.collector.documents)
    for spec in load_flows(EXAMPLE / "demo_flows.py").flows:
        assert find_flow_trace(traces, spec) is not None, spec.expectation()


def _hello_traces(documents: list[dict[str, Any]]) -> list[Trace]:
    return [
        t
        for t in build_traces(documents)
        if any(n.raw_name == "## hello.handler" for _, n in t.nodes())
    ]


def test_each_invocation_is_one_connected_trace_from_the_client(session: Session) -> None:
    def both_connected(documents: list[dict[str, Any]]) -> bool:
        hello = _hello_traces(documents)
        return len(hello) == 2 and all(disconnection(t) is None for t in hello)

    with contextlib.suppress(TimeoutError):  # the emulated segments may still be on their way
        session.local.collector.wait_for(both_connected, timeout=15)
    hello = _hello_traces(session.local.collector.documents)
    assert len(hello) == 2
    for trace in hello:
        assert trace.roots[0].raw_name == CLIENT_SEGMENT_NAME
        assert disconnection(trace) is None
