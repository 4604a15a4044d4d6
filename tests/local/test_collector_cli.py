"""``python -m cdk_lambda_xray collect`` as a real process: receives, saves, stops cleanly."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

HEADER = b'{"format":"json","version":1}\n'
DOC = {
    "name": "## handler.main",
    "id": "a" * 16,
    "trace_id": "1-6743a2b1-0123456789abcdef01234567",
    "parent_id": "f" * 16,
    "type": "subsegment",
    "start_time": 1.0,
    "end_time": 1.25,
    "annotations": {"ColdStart": True},
}


def _start(tmp_path: Path, *args: str) -> tuple[subprocess.Popen[str], int]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "cdk_lambda_xray", "collect", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert proc.stdout is not None
    first = proc.stdout.readline()
    assert first.startswith("listening on udp 127.0.0.1:"), first
    port = int(first.split()[3].rsplit(":", 1)[1])
    return proc, port


def _send(port: int, payload: bytes) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.sendto(payload, ("127.0.0.1", port))


def test_collect_prints_documents_saves_them_and_stops_on_sigterm(tmp_path: Path) -> None:
    output, html = tmp_path / "docs.jsonl", tmp_path / "traces.html"
    proc, port = _start(tmp_path, "--output", str(output), "--html", str(html), "--no-color")
    try:
        _send(port, HEADER + json.dumps(DOC).encode())
        _send(port, b"not a daemon datagram")
        deadline = time.monotonic() + 10
        while not output.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0
    assert "## handler.main  250.0 ms  cold start" in out
    assert "1 documents in 1 traces, 1 rejected (1 no header line)" in out
    assert json.loads(output.read_text()) == DOC
    assert html.is_file() and f"HTML: {html}" in out


def test_collect_stops_by_itself_after_duration(tmp_path: Path) -> None:
    proc, _ = _start(tmp_path, "--duration", "0.5", "--quiet")
    out, _ = proc.communicate(timeout=10)
    assert proc.returncode == 0
    assert "no traces received" in out and "0 documents in 0 traces, 0 rejected" in out


def test_collect_reports_a_port_in_use() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as busy:
        busy.bind(("127.0.0.1", 0))
        port = busy.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "cdk_lambda_xray", "collect", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=10,
        )
    assert result.returncode == 1
    assert f"cannot listen on udp 127.0.0.1:{port}" in result.stderr


def test_collect_shows_otlp_spans_and_says_how_many_came_that_way(tmp_path: Path) -> None:
    # A sampled span as the Lambda OTLP exporters send it, built by the real protobuf classes.
    import base64

    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )

    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    span = resource_spans.scope_spans.add().spans.add()
    span.trace_id = bytes.fromhex("6743a2b10123456789abcdef01234567")
    span.span_id = bytes.fromhex("b" * 16)
    span.parent_span_id = bytes.fromhex("f" * 16)
    span.name = "S3.GetObject"
    span.start_time_unix_nano, span.end_time_unix_nano = 1_000_000_000, 1_125_000_000
    for key, value in (("rpc.system", "aws-api"), ("rpc.service", "S3"), ("rpc.method", "Get")):
        attribute = span.attributes.add(key=key)
        attribute.value.string_value = value
    payload = base64.b64encode(request.SerializeToString())
    output = tmp_path / "docs.jsonl"
    proc, port = _start(tmp_path, "--output", str(output), "--no-color")
    try:
        _send(port, HEADER + b"T1S" + payload)
        _send(port, HEADER + b"T1U" + payload)
        deadline = time.monotonic() + 10
        while not output.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.2)  # the unsampled datagram
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0
    assert "S3 Get  125.0 ms" in out
    assert (
        "1 documents in 1 traces (1 from OTLP spans, 1 unsampled OTLP spans counted), 0 rejected"
        in out
    )
    saved = json.loads(output.read_text())
    assert (saved["name"], saved["namespace"], saved["aws"]) == ("S3", "aws", {"operation": "Get"})
