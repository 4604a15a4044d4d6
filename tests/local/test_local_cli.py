"""``python -m cdk_lambda_xray local``: what a user sees for bad input, and ``start`` / stop.

Every failure is one line on stderr with a documented exit status (2: the
command line, the app or the emulator cannot be used; 1: the operation
failed). ``start`` runs the real collector and MiniStack as a real process.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from cdk_lambda_xray.local import cli
from cdk_lambda_xray.local.appdir import load_flows
from cdk_lambda_xray.local.localaws import STATE_FILE, read_state

REPO_ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = REPO_ROOT / "examples" / "traced_hello"
PROG = "python -m cdk_lambda_xray local"


def _one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        ([], "the following arguments are required: command"),
        (["launch"], "invalid choice: 'launch'"),
        (["invoke"], "the following arguments are required: function"),
        (["traces", "--timeout", "soon"], "invalid float value: 'soon'"),
        (["start", "--daemon-port", "x"], "invalid int value: 'x'"),
    ],
)
def test_a_bad_command_line_is_one_line_and_status_2(
    argv: list[str], expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli.main(argv)
    assert exit_.value.code == cli.BAD_USAGE
    line = _one_error_line(capsys)
    assert line.startswith(PROG) and expected in line


def test_deploy_without_an_app_names_the_fix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["deploy", "--app-dir", str(tmp_path), "--stack", "S"]) == cli.BAD_USAGE
    line = _one_error_line(capsys)
    assert line == f"{PROG} deploy: no CDK app found: {tmp_path} has no cdk.json (pass --app-dir)"


def test_deploy_of_an_app_without_flows_file_asks_for_the_stack(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "cdk.json").write_text('{"app": "python3 app.py"}')
    argv = ["deploy", "--app-dir", str(tmp_path), "--work-dir", str(tmp_path)]
    assert cli.main(argv) == cli.BAD_USAGE
    line = _one_error_line(capsys)
    assert "no flows file" in line and line.endswith("(or pass --stack; no usable demo_flows.py)")


def test_deploy_without_a_running_emulator_says_how_to_start_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["deploy", "--app-dir", str(EXAMPLE), "--stack", "TracedHello"]
    assert cli.main([*argv, "--work-dir", str(tmp_path)]) == cli.BAD_USAGE
    line = _one_error_line(capsys)
    assert f"no local emulator running for {tmp_path}" in line
    assert f"{PROG} start --work-dir {tmp_path}" in line


def test_a_stale_state_file_counts_as_no_emulator(tmp_path: Path) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    state = {"endpoint_url": "http://127.0.0.1:9", "daemon_address": "127.0.0.1:9"}
    (tmp_path / STATE_FILE).write_text(json.dumps({**state, "traces": "t", "pid": dead.pid}))
    assert read_state(tmp_path) is None
    (tmp_path / STATE_FILE).write_text("{not json")
    assert read_state(tmp_path) is None


def test_invoke_with_a_payload_that_is_not_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["invoke", "Fn", "--payload", "{name}", "--endpoint-url", "http://127.0.0.1:9"]
    assert cli.main(argv) == cli.BAD_USAGE
    assert _one_error_line(capsys).startswith(f"{PROG} invoke: --payload is not JSON: ")


def test_invoke_with_a_daemon_address_that_is_not_host_port(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["invoke", "Fn", "--daemon-address", "collector", "--endpoint-url", "http://x:9"]
    assert cli.main(argv) == cli.BAD_USAGE
    line = _one_error_line(capsys)
    assert line == f"{PROG} invoke: --daemon-address is HOST:PORT, not 'collector'"


def test_traces_waiting_for_a_handler_that_never_comes_is_status_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    documents = tmp_path / "traces.jsonl"
    other = {"name": "## other.handler", "id": "1" * 16, "trace_id": "1-6743a2b1-" + "0" * 24}
    documents.write_text(json.dumps({**other, "start_time": 1.0, "end_time": 1.1}) + "\n")
    argv = ["traces", "--file", str(documents), "--wait-for", "hello.handler", "--timeout", "0.3"]
    assert cli.main(argv) == cli.FAILED
    line = _one_error_line(capsys)
    assert line == f"{PROG} traces: no trace of ## hello.handler in {documents} after 0.3s"
    assert cli.main(["traces", "--file", str(documents), "--wait-for", "other.handler"]) == 0
    assert "## other.handler" in capsys.readouterr().out


def test_start_runs_until_sigterm_and_leaves_nothing_running(tmp_path: Path) -> None:
    work = tmp_path / "work"
    proc = subprocess.Popen(
        [sys.executable, "-m", "cdk_lambda_xray", "local", "start", "--work-dir", str(work)],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while (state := read_state(work)) is None:
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "no local.json within 60 s"
            time.sleep(0.2)
        assert state.pid == proc.pid
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(state.endpoint_url + "/_ministack/health", timeout=5) as response:
            assert response.status == 200
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert (proc.returncode, err) == (0, "")
    assert out.splitlines()[0] == (
        f"local AWS at {state.endpoint_url}, X-Ray daemon at udp {state.daemon_address}"
    )
    assert out.splitlines()[-1].startswith("stopped; 0 documents in ")
    assert not (work / STATE_FILE).exists()
    with pytest.raises(OSError):
        opener.open(state.endpoint_url + "/_ministack/health", timeout=2)
    assert not list(work.glob(".ministack-*"))
    assert os.path.exists(work / "ministack.log")


def test_the_docs_show_the_example_flows_file_as_it_is() -> None:
    """docs/local.md quotes ``examples/traced_hello/demo_flows.py``; the quote stays exact."""
    source = (EXAMPLE / "demo_flows.py").read_text()
    quoted = source[source.index("from cdk_lambda_xray") :]
    assert f"```python\n{quoted}```" in (REPO_ROOT / "docs" / "local.md").read_text()
    declared = load_flows(EXAMPLE / "demo_flows.py")
    assert declared.stack == "TracedHello"
    assert f'STACK_ID: Final = "{declared.stack}"' in (EXAMPLE / "app.py").read_text()
