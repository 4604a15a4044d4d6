"""MiniStack lifecycle, and what a function running in it sees (real emulator, real boto3)."""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3  # type: ignore[import-untyped]
import pytest

from cdk_lambda_xray.local.collector import Collector
from cdk_lambda_xray.local.emulator import STATE_PREFIX, EmulatorError, MiniStack
from cdk_lambda_xray.local.lifeline import group_alive

# A function that reports what the platform gave it and sends one document
# to the daemon address, the way a tracing library does.
PROBE = """
import json, os, socket, time
import probe_layer

def handler(event, context):
    header = os.environ.get("_X_AMZN_TRACE_ID", "")
    fields = dict(p.split("=", 1) for p in header.split(";") if "=" in p)
    host, port = os.environ["AWS_XRAY_DAEMON_ADDRESS"].rsplit(":", 1)
    doc = {"name": "probe", "id": "0123456789abcdef", "type": "subsegment",
           "trace_id": fields.get("Root", ""), "parent_id": fields.get("Parent", ""),
           "start_time": time.time(), "end_time": time.time()}
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.sendto(b'{"format":"json","version":1}\\n' + json.dumps(doc).encode(), (host, int(port)))
    return {"trace": header, "endpoint": os.environ.get("AWS_ENDPOINT_URL"),
            "daemon": os.environ.get("AWS_XRAY_DAEMON_ADDRESS"), "layer": probe_layer.WHERE}
"""


def _zip(files: dict[str, str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, text in files.items():
            zf.writestr(name, text)
    return buf.getvalue()


@pytest.fixture(scope="module")
def collector() -> Iterator[Collector]:
    with Collector() as c:
        yield c


@pytest.fixture(scope="module")
def ministack(
    tmp_path_factory: pytest.TempPathFactory, collector: Collector
) -> Iterator[MiniStack]:
    log = tmp_path_factory.mktemp("ministack") / "ministack.log"
    with MiniStack(log, timeout=60, xray_daemon_address=collector.address) as emulator:
        yield emulator


def _client(ministack: MiniStack, service: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=ministack.endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


def test_endpoint_is_loopback_on_a_free_port(ministack: MiniStack) -> None:
    assert ministack.endpoint_url == f"http://127.0.0.1:{ministack.port}"
    assert ministack.port != 4566


def test_health_lists_the_services_the_demo_needs(ministack: MiniStack) -> None:
    services = ministack.health()["services"]
    for name in ("lambda", "s3", "sns", "dynamodb", "cloudformation", "iam", "ssm"):
        assert name in services


def test_log_file_receives_the_emulator_output(ministack: MiniStack) -> None:
    assert "Running on http://127.0.0.1:" in ministack.log_path.read_text()


@pytest.fixture(scope="module")
def probe_result(ministack: MiniStack) -> dict[str, Any]:
    lam = _client(ministack, "lambda")
    layer = lam.publish_layer_version(
        LayerName="probe-layer",
        Content={"ZipFile": _zip({"python/probe_layer.py": "WHERE = __file__\n"})},
        CompatibleRuntimes=["python3.12"],
    )
    lam.create_function(
        FunctionName="probe",
        Runtime="python3.12",
        Role="arn:aws:iam::000000000000:role/probe",
        Handler="probe.handler",
        Code={"ZipFile": _zip({"probe.py": PROBE})},
        Layers=[layer["LayerVersionArn"]],
        TracingConfig={"Mode": "Active"},
        Timeout=30,
    )
    response = lam.invoke(FunctionName="probe", Payload=b"{}")
    assert "FunctionError" not in response, response["Payload"].read()
    result: dict[str, Any] = json.loads(response["Payload"].read())
    return result


def test_active_tracing_gives_the_function_a_sampled_trace_header(
    probe_result: dict[str, Any],
) -> None:
    assert probe_result["trace"].startswith("Root=1-")
    assert "Sampled=1" in probe_result["trace"]


def test_function_calls_go_to_the_emulator(
    probe_result: dict[str, Any], ministack: MiniStack
) -> None:
    assert probe_result["endpoint"] == ministack.endpoint_url


def test_layer_python_directory_is_importable(probe_result: dict[str, Any]) -> None:
    assert probe_result["layer"].endswith(os.path.join("python", "probe_layer.py"))


def test_function_documents_reach_the_collector(
    probe_result: dict[str, Any], collector: Collector
) -> None:
    assert probe_result["daemon"] == collector.address
    docs = collector.wait_for(lambda d: any(x["name"] == "probe" for x in d), timeout=10)
    root = probe_result["trace"].split(";")[0].removeprefix("Root=")
    assert any(d["trace_id"] == root for d in docs)


def test_start_failure_raises_with_the_log_and_leaves_nothing_running(tmp_path: Path) -> None:
    fake = tmp_path / "fake-python"
    fake.write_text("#!/bin/sh\necho 'no ministack here' >&2\nexit 3\n")
    fake.chmod(0o755)
    emulator = MiniStack(tmp_path / "log.txt", timeout=10, python=str(fake))
    with pytest.raises(EmulatorError, match="no ministack here"):
        emulator.start()
    assert emulator.pid is None


def test_stop_ends_the_emulator_process_group(tmp_path: Path) -> None:
    emulator = MiniStack(tmp_path / "log.txt", timeout=60).start()
    pid = emulator.pid
    assert pid is not None
    emulator.stop()
    with pytest.raises(ProcessLookupError):
        os.killpg(pid, 0)


# -- the launcher's corrections, through MiniStack's own CloudFormation ------------------

LISTING = (
    "import os\n"
    "def main(event, context):\n"
    "    return sorted(os.listdir(os.environ['LAMBDA_TASK_ROOT']))\n"
)


@pytest.fixture(scope="module")
def corrections_stack(ministack: MiniStack) -> dict[str, str]:
    s3 = _client(ministack, "s3")
    s3.create_bucket(Bucket="boot-shim-assets")
    s3.put_object(
        Bucket="boot-shim-assets",
        Key="layer.zip",
        Body=_zip({"python/shim_probe.py": LISTING}),
    )
    template = {
        "Resources": {
            "Policy": {
                "Type": "AWS::XRay::ResourcePolicy",
                "Properties": {"PolicyName": "sns-xray", "PolicyDocument": "{}"},
            },
            "Layer": {
                "Type": "AWS::Lambda::LayerVersion",
                "Properties": {
                    "Content": {"S3Bucket": "boot-shim-assets", "S3Key": "layer.zip"},
                },
            },
            "Fn": {
                "Type": "AWS::Lambda::Function",
                "Properties": {
                    "Runtime": "python3.12",
                    "Handler": "shim_probe.main",
                    "Role": "arn:aws:iam::000000000000:role/probe",
                    "Code": {"ZipFile": "X = 1\n"},
                    "Layers": [{"Ref": "Layer"}],
                },
            },
        },
        "Outputs": {
            "PolicyName": {"Value": {"Ref": "Policy"}},
            "FunctionName": {"Value": {"Ref": "Fn"}},
        },
    }
    cfn = _client(ministack, "cloudformation")
    cfn.create_stack(StackName="boot-shim", TemplateBody=json.dumps(template))
    cfn.get_waiter("stack_create_complete").wait(
        StackName="boot-shim", WaiterConfig={"Delay": 1, "MaxAttempts": 60}
    )
    stack = cfn.describe_stacks(StackName="boot-shim")["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}


def test_xray_resource_policy_deploys_and_refs_to_its_name(
    corrections_stack: dict[str, str],
) -> None:
    assert corrections_stack["PolicyName"] == "sns-xray"


def test_inline_code_is_written_to_index_py_as_in_cloudformation(
    corrections_stack: dict[str, str], ministack: MiniStack
) -> None:
    lam = _client(ministack, "lambda")
    response = lam.invoke(FunctionName=corrections_stack["FunctionName"], Payload=b"{}")
    assert json.loads(response["Payload"].read()) == ["index.py"]


ORPHANING_PARENT = """
import sys, time
from pathlib import Path
from cdk_lambda_xray.local.emulator import MiniStack
emulator = MiniStack(Path(sys.argv[1]), timeout=60).start()
print(emulator.pid, flush=True)
time.sleep(120)  # killed by the test before it could stop the emulator
"""


def test_emulator_and_its_state_go_when_its_parent_is_killed(tmp_path: Path) -> None:
    parent = subprocess.Popen(
        [sys.executable, "-c", ORPHANING_PARENT, str(tmp_path / "log.txt")],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert parent.stdout is not None
        pid = int(parent.stdout.readline())
        assert len(list(tmp_path.glob(f"{STATE_PREFIX}*"))) == 1  # its state, beside the log
    finally:
        parent.kill()  # SIGKILL: no cleanup of its own runs
        parent.wait()
        if parent.stdout is not None:
            parent.stdout.close()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if not group_alive(pid) and not list(tmp_path.glob(f"{STATE_PREFIX}*")):
            return
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, 9)  # do not leave it behind if the lifeline failed
    pytest.fail("MiniStack or its state directory outlived the process that started it")
