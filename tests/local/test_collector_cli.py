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
