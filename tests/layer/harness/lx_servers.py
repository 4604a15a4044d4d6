"""Local HTTP servers for the client-patch tests: canned answers, recorded headers.

:class:`CannedServer` answers by the first path segment (``/throttle/...``)
with a status, headers and body chosen by the test, and records every request
it receives (method, path, headers), so a test can read the
``X-Amzn-Trace-Id`` a client actually sent. Pointed at by real botocore
(``endpoint_url``) it produces real AWS error responses (4xx, 429, 5xx) that
botocore parses as it would AWS's own.

:func:`closed_port` gives a port nothing listens on (connection refused).
"""

from __future__ import annotations

import contextlib
import json
import socket
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self


@dataclass(frozen=True)
class Canned:
    status: int
    body: bytes = b"{}"
    headers: Mapping[str, str] = field(default_factory=dict)
    #: Seconds to wait before answering (a slow downstream).
    delay: float = 0.0


def aws_json_error(status: int, code: str, request_id: str) -> Canned:
    """An error as AWS JSON-protocol services (DynamoDB, SQS, ...) send it."""
    body = json.dumps({"__type": f"com.amazonaws.test#{code}", "message": f"canned {code}"})
    return Canned(
        status,
        body.encode(),
        {"Content-Type": "application/x-amz-json-1.0", "x-amzn-RequestId": request_id},
    )


def aws_json_ok(body: Any, request_id: str) -> Canned:
    return Canned(
        200,
        json.dumps(body).encode(),
        {"Content-Type": "application/x-amz-json-1.0", "x-amzn-RequestId": request_id},
    )


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    headers: dict[str, str]
    #: Every header line as received, in order, repeated names included.
    header_lines: tuple[tuple[str, str], ...] = ()

    @property
    def trace_header(self) -> str | None:
        for key, value in self.headers.items():
            if key.lower() == "x-amzn-trace-id":
                return value
        return None


class QuietServer(ThreadingHTTPServer):
    """No traceback on stderr when a client drops its connection (or is killed mid-poll)."""

    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class CannedServer:
    """HTTP/1.1 on 127.0.0.1 (free port) answering from ``routes``."""

    def __init__(self, routes: Mapping[str, Canned | list[Canned]]) -> None:
        self._routes: dict[str, list[Canned]] = {
            k: list(v) if isinstance(v, list) else [v] for k, v in routes.items()
        }
        self.received: list[Received] = []
        self._lock = threading.Lock()
        self._server = QuietServer(("127.0.0.1", 0), self._handler_class())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        port: int = self._server.server_address[1]
        return port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def requests_to(self, route: str) -> list[Received]:
        with self._lock:
            return [r for r in self.received if r.path.strip("/").split("/")[0] == route]

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _answer(self, path: str) -> Canned:
        route = path.split("?")[0].strip("/").split("/")[0]
        with self._lock:
            answers = self._routes.get(route)
            if not answers:
                return Canned(404, b'{"message":"no such route"}')
            # The last answer repeats; earlier ones are used once each.
            return answers.pop(0) if len(answers) > 1 else answers[0]

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                with server._lock:
                    server.received.append(
                        Received(
                            self.command,
                            self.path,
                            {k: v for k, v in self.headers.items()},
                            tuple(self.headers.items()),
                        )
                    )
                canned = server._answer(self.path)
                if canned.delay:
                    time.sleep(canned.delay)
                self.send_response(canned.status)
                for key, value in canned.headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(canned.body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(canned.body)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _serve

        return Handler


def closed_port() -> int:
    """A TCP port on 127.0.0.1 that refuses connections (bound, then closed)."""
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port
