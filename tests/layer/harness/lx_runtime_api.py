"""A small Lambda Runtime API server that drives the real ``awslambdaric``.

It implements what the runtime client calls (``/2018-06-01/runtime/...``):
``invocation/next`` (long poll, answered when :meth:`RuntimeApi.invoke` queues
an event), ``invocation/{id}/response``, ``invocation/{id}/error`` and
``init/error``. Each invoke carries ``Lambda-Runtime-Aws-Request-Id``,
``Lambda-Runtime-Deadline-Ms``, ``Lambda-Runtime-Invoked-Function-Arn`` and,
when given, ``Lambda-Runtime-Trace-Id``, exactly as Lambda sends them.

:class:`LambdaProcess` starts ``python -m awslambdaric <handler>`` against it
with a Lambda-like environment and stops it by pid.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from lx_process import stop_group
from lx_servers import QuietServer

from lambda_xray.testing import subsegments

PREFIX = "/2018-06-01/runtime"
FUNCTION_ARN = "arn:aws:lambda:us-east-1:000000000000:function:traced-test"


@dataclass
class Outcome:
    """What the runtime reported for one invoke."""

    request_id: str
    kind: str  # "response" or "error"
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class _Invoke:
    request_id: str
    body: bytes
    headers: dict[str, str]


class RuntimeApi:
    """The Runtime API on 127.0.0.1 (free port). Use as a context manager."""

    def __init__(self, poll_timeout: float = 60.0) -> None:
        self._pending: queue.Queue[_Invoke] = queue.Queue()
        self._outcomes: dict[str, Outcome] = {}
        self._cond = threading.Condition()
        self._stopping = threading.Event()
        self.init_errors: list[Outcome] = []
        self.next_calls = 0
        #: request id -> time.time() when the runtime received that invoke.
        self.served_at: dict[str, float] = {}
        self._poll_timeout = poll_timeout
        self._server = QuietServer(("127.0.0.1", 0), self._handler_class())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def address(self) -> str:
        """``127.0.0.1:PORT``: the value for ``AWS_LAMBDA_RUNTIME_API``."""
        host, port = self._server.server_address[:2]
        return f"{host!s}:{port}"

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()

    def invoke(
        self,
        event: Any,
        *,
        trace_id: str | None = None,
        timeout: float = 30.0,
        deadline_ms: int = 30_000,
    ) -> Outcome:
        """Queue one invoke and wait for the runtime's response or error."""
        request_id = str(uuid.uuid4())
        headers = {
            "Lambda-Runtime-Aws-Request-Id": request_id,
            "Lambda-Runtime-Deadline-Ms": str(int(time.time() * 1000) + deadline_ms),
            "Lambda-Runtime-Invoked-Function-Arn": FUNCTION_ARN,
            "Content-Type": "application/json",
        }
        if trace_id is not None:
            headers["Lambda-Runtime-Trace-Id"] = trace_id
        self._pending.put(_Invoke(request_id, json.dumps(event).encode(), headers))
        deadline = time.monotonic() + timeout
        with self._cond:
            while request_id not in self._outcomes:
                left = deadline - time.monotonic()
                if left <= 0 or self.init_errors:
                    raise TimeoutError(
                        f"no outcome for invoke {request_id} within {timeout}s; "
                        f"init errors: {[e.body for e in self.init_errors]}"
                    )
                self._cond.wait(min(left, 0.2))
            return self._outcomes.pop(request_id)

    def wait_polling(self, timeout: float = 30.0) -> None:
        """Wait until the runtime asks for its first invoke: its Init is over."""
        deadline = time.monotonic() + timeout
        while self.next_calls == 0 and not self.init_errors:
            if time.monotonic() > deadline:
                raise TimeoutError(f"the runtime did not poll within {timeout}s")
            time.sleep(0.01)

    def wait_init_error(self, timeout: float = 30.0) -> Outcome:
        """Wait for an ``init/error`` post."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not self.init_errors:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"no init error within {timeout}s")
                self._cond.wait(min(left, 0.2))
            return self.init_errors[0]

    # -- server side ---------------------------------------------------------

    def _record(self, outcome: Outcome, init: bool = False) -> None:
        with self._cond:
            if init:
                self.init_errors.append(outcome)
            else:
                self._outcomes[outcome.request_id] = outcome
            self._cond.notify_all()

    def _next(self) -> _Invoke | None:
        self.next_calls += 1
        deadline = time.monotonic() + self._poll_timeout
        while not self._stopping.is_set() and time.monotonic() < deadline:
            try:
                return self._pending.get(timeout=0.2)
            except queue.Empty:
                continue
        return None

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _reply(
                self, status: int, body: bytes = b"{}", headers: Mapping[str, str] | None = None
            ) -> None:
                self.send_response(status)
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                if self.path != f"{PREFIX}/invocation/next":
                    self._reply(404, b'{"errorMessage":"unknown path"}')
                    return
                invoke = api._next()
                if invoke is None:
                    self._reply(500, b'{"errorMessage":"shutting down"}')
                    return
                api.served_at[invoke.request_id] = time.time()
                self._reply(200, invoke.body, invoke.headers)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {k: v for k, v in self.headers.items()}
                parts = self.path.removeprefix(PREFIX).strip("/").split("/")
                if parts == ["init", "error"]:
                    api._record(Outcome("", "init-error", body, headers), init=True)
                    self._reply(202, b'{"status":"OK"}')
                elif (
                    len(parts) == 3
                    and parts[0] == "invocation"
                    and parts[2]
                    in (
                        "response",
                        "error",
                    )
                ):
                    api._record(Outcome(parts[1], parts[2], body, headers))
                    self._reply(202, b'{"status":"OK"}')
                else:
                    self._reply(404, b'{"errorMessage":"unknown path"}')

        return Handler


class LambdaProcess:
    """``python -m awslambdaric <handler>`` as Lambda starts it, stopped by pid.

    ``task_root`` plays ``/var/task`` and ``layer_python`` plays ``/opt/python``
    (both on ``PYTHONPATH``, task root first, as in Lambda). The environment is
    built from scratch (plus ``PATH``), so nothing of the test process leaks in.
    ``python``: the interpreter (default: this one; another virtualenv's for
    a tracer whose pins conflict with ours, such as ADOT's).
    """

    def __init__(
        self,
        api: RuntimeApi,
        *,
        handler: str,
        task_root: Path,
        layer_python: Path,
        log_path: Path,
        env: Mapping[str, str] | None = None,
        python: str | None = None,
    ) -> None:
        self._python = python or sys.executable
        self._log_path = log_path
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LANG": "C.UTF-8",
            "AWS_LAMBDA_RUNTIME_API": api.address,
            "LAMBDA_TASK_ROOT": str(task_root),
            "LAMBDA_RUNTIME_DIR": str(task_root),
            "PYTHONPATH": f"{task_root}{os.pathsep}{layer_python}",
            "PYTHONUNBUFFERED": "1",
            "PYTHONDONTWRITEBYTECODE": "1",
            "AWS_LAMBDA_FUNCTION_NAME": "traced-test",
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
            "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/traced-test",
            "AWS_LAMBDA_LOG_STREAM_NAME": "test",
            "AWS_EXECUTION_ENV": "AWS_Lambda_python3.11",
            "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "NO_PROXY": "127.0.0.1,localhost",
            "no_proxy": "127.0.0.1,localhost",
            "_HANDLER": handler,
        }
        self.env.update(env or {})
        self._handler = handler
        self._task_root = task_root
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: Any = None

    def __enter__(self) -> Self:
        self._log = self._log_path.open("wb")
        self._proc = subprocess.Popen(
            [self._python, "-m", "awslambdaric", self._handler],
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=self.env,
            cwd=self._task_root,
            start_new_session=True,
        )
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def log(self) -> str:
        return self._log_path.read_text(errors="replace")

    def stop(self) -> None:
        proc = self._proc
        if proc is not None:
            stop_group(proc, signal.SIGTERM, grace=5)
        self._proc = None
        if self._log is not None:
            self._log.close()
            self._log = None


def trace_documents(
    collector: Any,
    trace_id: str,
    count: int,
    *,
    log: Callable[[], str],
    timeout: float,
    settle: float,
) -> list[dict[str, Any]]:
    """The subsegments of ``trace_id`` in ``collector`` once ``count`` have arrived
    (embedded ones on their own: ``lambda_xray.testing.subsegments``).

    Waits ``settle`` seconds more, so that anything extra (a call recorded
    twice) is in the list too. Fails the test with the function's ``log()``
    when fewer than ``count`` arrive within ``timeout`` seconds.
    """

    def mine(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [d for d in subsegments(docs) if d.get("trace_id") == trace_id]

    try:
        collector.wait_for(lambda d: len(mine(d)) >= count, timeout)
    except TimeoutError as e:
        raise AssertionError(
            f"expected {count} documents for {trace_id}, got "
            f"{mine(collector.documents)}\nfunction log:\n{log()[-3000:]}"
        ) from e
    time.sleep(settle)
    return mine(collector.documents)


def new_trace_id() -> str:
    """A fresh X-Ray trace id (``1-<time>-<24 hex>``)."""
    return f"1-{int(time.time()):08x}-{os.urandom(12).hex()}"


def trace_header(trace_id: str, sampled: bool = True) -> str:
    """An ``X-Amzn-Trace-Id`` for ``trace_id`` with a fixed parent."""
    return f"Root={trace_id};Parent=53995c3f42cd8ad8;Sampled={1 if sampled else 0}"


def nothing_sent(function: Any, trace_id: str) -> bool:
    """True if no document of ``trace_id`` reached ``function.collector``, checked after
    a sentinel invoke (``function``: ``invoke(event, header)``, ``docs(trace_id, count)``).

    UDP on loopback from one socket arrives in order: once the sentinel's
    document is in, anything sent before it would be too.
    """
    sentinel = new_trace_id()
    function.invoke({}, trace_header(sentinel))
    function.docs(sentinel, 1)
    return not [d for d in function.collector.documents if d.get("trace_id") == trace_id]
