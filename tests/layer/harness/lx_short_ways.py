"""The standalone datagram the layer's short ways write for a call, for the tests that compare
them with the general encoding (``lambda_xray.wire.encode``).

The layer itself keeps a call's ``rest`` (``wire.aws_call_rest``, ``wire.http_call_rest``)
and decides later whether it leaves on its own or in its parent's document
(``lambda_xray.batch``); on its own it is exactly these bytes.
"""

from __future__ import annotations

from typing import Any

from lambda_xray import wire
from lambda_xray.document import Subsegment


def encode_aws_call(
    sub: Subsegment,
    status: Any,
    end: Any,
    request_id: object = None,
    host_id: object = None,
    retries: object = None,
) -> bytes | None:
    """A successful AWS call's datagram the short way, or ``None`` (the general way's turn)."""
    rest = wire.aws_call_rest(sub, status, end, request_id, host_id, retries)
    return None if rest is None else wire.datagram(wire.standalone(sub, rest))


def encode_http_call(sub: Subsegment, status: Any, end: Any) -> bytes | None:
    """An HTTP call's datagram the short way, or ``None`` (the general way's turn)."""
    rest = wire.http_call_rest(sub, status, end)
    return None if rest is None else wire.datagram(wire.standalone(sub, rest))
