"""The demo's client recorder against real boto3 and a real collector (no emulator needed)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import boto3  # type: ignore[import-untyped]
import pytest
from botocore.config import Config  # type: ignore[import-untyped]
from botocore.exceptions import (  # type: ignore[import-untyped]
    ClientError,
    EndpointConnectionError,
)

from cdk_lambda_xray.local.client_trace import CLIENT_SEGMENT_NAME, ClientTrace, disconnection
from cdk_lambda_xray.local.collector import Collector
from cdk_lambda_xray.local.emulator import free_tcp_port
from cdk_lambda_xray.local.lambda_segments import parse_header
from cdk_lambda_xray.local.traceview import build_traces


class _Recorder(BaseHTTPRequestHandler):
    """Answers every request 500 and remembers its headers (a real HTTP server)."""

    seen: ClassVar[list[dict[str, str]]] = []

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        _Recorder.seen.append(dict(self.headers))
        self.send_response(500)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def _sqs(endpoint: str) -> Any:
    return boto3.client(
        "sqs",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(retries={"max_attempts": 1}, connect_timeout=1, read_timeout=5),
    )


def test_each_call_sends_the_header_naming_its_subsegment_and_records_a_5xx(server: str) -> None:
    _Recorder.seen.clear()
    queue = f"{server}/000000000000/jobs"
    with Collector() as collector:
        with ClientTrace("jobs", collector.address) as trace, pytest.raises(ClientError):
            trace.instrument(_sqs(server)).send_message(QueueUrl=queue, MessageBody="secret")
        (doc,) = collector.wait_for(lambda d: len(d) == 1, timeout=5)
    (sub,) = doc["subsegments"]
    header = parse_header(_Recorder.seen[0]["X-Amzn-Trace-Id"])
    assert header is not None
    assert (header.root, header.parent, header.sampled) == (trace.trace_id, sub["id"], "1")
    assert doc["name"] == CLIENT_SEGMENT_NAME and doc["annotations"] == {"flow": "jobs"}
    assert sub["fault"] is True and sub["http"]["response"]["status"] == 500
    assert sub["aws"]["operation"] == "SendMessage" and sub["aws"]["queue_url"] == queue
    assert "secret" not in json.dumps(doc)
    (built,) = build_traces([doc])
    assert disconnection(built) is None


def test_a_call_that_gets_no_answer_is_a_fault_and_the_segment_still_goes_out() -> None:
    closed = f"http://127.0.0.1:{free_tcp_port()}"
    with Collector() as collector:
        with pytest.raises(EndpointConnectionError), ClientTrace("x", collector.address) as trace:
            trace.instrument(_sqs(closed)).get_queue_url(QueueName="jobs")
        (doc,) = collector.wait_for(lambda d: len(d) == 1, timeout=5)
    assert doc["fault"] is True and doc["id"] == trace.segment_id
    (sub,) = doc["subsegments"]
    assert sub["fault"] is True
    assert sub["cause"]["exceptions"][0]["type"] == "EndpointConnectionError"


def test_a_trace_with_a_foreign_root_is_not_connected() -> None:
    trace_id = "1-6743a2b1-0123456789abcdef01234567"
    orphan = {"name": "## h", "id": "1" * 16, "parent_id": "2" * 16, "trace_id": trace_id,
              "type": "subsegment", "start_time": 1.0, "end_time": 2.0}  # fmt: skip
    (built,) = build_traces([orphan])
    reason = disconnection(built)
    assert reason is not None and "not the client segment" in reason
