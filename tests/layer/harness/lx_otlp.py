"""A UDP receiver for the layer's OTLP datagrams, decoded with the real protobuf classes.

Each datagram must be exactly what ADOT's Lambda exporter sends: the daemon
header line ``{"format":"json","version":1}``, a newline, ``T1S`` or ``T1U``,
then standard base64 (padded) of one ``ExportTraceServiceRequest``, parsed
here by ``opentelemetry-proto`` (a test dependency; the layer never imports it).
"""

from __future__ import annotations

import base64
import binascii
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue

HEADER = b'{"format":"json","version":1}\n'
DAEMON_LIMIT = 64 * 1024


@dataclass
class Datagram:
    """One datagram: its size, its prefix (``T1S``/``T1U``) and the decoded request."""

    size: int
    prefix: str
    request: Any

    @property
    def spans(self) -> list[Any]:
        return [
            span
            for resource_spans in self.request.resource_spans
            for scope_spans in resource_spans.scope_spans
            for span in scope_spans.spans
        ]


def decode(data: bytes, canonical: bool = True) -> Datagram:
    """Decode one datagram; ``AssertionError`` when its framing is not ADOT's.

    ``canonical``: the protobuf must also serialize back to the same bytes
    (the layer's does; ADOT's writes ``Span.flags`` before the name, so not).
    """
    assert data.startswith(HEADER), data[:60]
    body = data[len(HEADER) :]
    prefix, payload = body[:3].decode("ascii"), body[3:]
    assert prefix in ("T1S", "T1U"), prefix
    try:
        raw = base64.b64decode(payload, validate=True)
    except binascii.Error as exc:  # pragma: no cover - a failure message
        raise AssertionError(f"not standard base64: {exc}") from exc
    request = ExportTraceServiceRequest()
    request.ParseFromString(raw)
    if canonical:
        assert request.SerializeToString() == raw  # nothing the parser did not understand
    return Datagram(len(data), prefix, request)


def value_of(any_value: Any) -> Any:
    """A plain Python value for an ``AnyValue``."""
    which = any_value.WhichOneof("value")
    if which is None:
        return None
    if which == "array_value":
        return [value_of(v) for v in any_value.array_value.values]
    if which == "kvlist_value":
        return {kv.key: value_of(kv.value) for kv in any_value.kvlist_value.values}
    return getattr(any_value, which)


def attrs(message: Any) -> dict[str, Any]:
    """A span's, event's or resource's attributes as a dict (keys are unique)."""
    keys = [kv.key for kv in message.attributes]
    assert len(keys) == len(set(keys)), keys
    return {kv.key: value_of(kv.value) for kv in message.attributes}


class OtlpReceiver:
    """Datagrams received on 127.0.0.1 (free port); use as a context manager.

    ``canonical``: see :func:`decode` (``False`` for ADOT's datagrams).
    """

    def __init__(self, canonical: bool = True) -> None:
        self._canonical = canonical
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 * 1024 * 1024)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.settimeout(0.2)
        self._raw: list[bytes] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @property
    def address(self) -> str:
        host, port = self._sock.getsockname()
        return f"{host}:{port}"

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join(5)
        self._sock.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                data = self._sock.recv(DAEMON_LIMIT + 1024)
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                self._raw.append(data)

    def take(self) -> list[Datagram]:
        """Every datagram received so far (decoded), forgetting them."""
        with self._lock:
            raw, self._raw = self._raw, []
        return [decode(data, self._canonical) for data in raw]

    def wait_for(
        self, done: Callable[[list[Datagram]], bool], timeout: float = 10.0
    ) -> list[Datagram]:
        """Collect datagrams until ``done(all so far)``; returns them all."""
        got: list[Datagram] = []
        deadline = time.monotonic() + timeout
        while True:
            got += self.take()
            if done(got):
                return got
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out; got {len(got)} datagrams")
            time.sleep(0.02)

    def quiet_for(self, seconds: float) -> list[Datagram]:
        """Whatever arrives within ``seconds``."""
        time.sleep(seconds)
        return self.take()


def anyvalue_roundtrip(body: bytes) -> Any:
    """Parse a hand-written ``AnyValue`` body with the real class."""
    value = AnyValue()
    value.ParseFromString(body)
    assert value.SerializeToString() == body
    return value
