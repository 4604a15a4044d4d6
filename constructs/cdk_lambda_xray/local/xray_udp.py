"""Send segment documents to an X-Ray daemon address over UDP (the daemon's wire format).

Used by the local tooling's own recorders (the emulated Lambda segments and the
demo's client segments); the layer has its own emitter and never imports this.
"""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import Iterable
from typing import Any, Final

from .._env_values import grammar

__all__ = ["MAX_DATAGRAM", "parse_daemon_address", "send_documents"]

logger = logging.getLogger("cdk_lambda_xray.xray_udp")

_HEADER: Final = b'{"format":"json","version":1}\n'
#: The daemon reads at most this many bytes per datagram; longer ones are not sent.
MAX_DATAGRAM: Final = 64 * 1024


def parse_daemon_address(value: str | None) -> tuple[str, int] | None:
    """The UDP address of an ``AWS_XRAY_DAEMON_ADDRESS`` value, else ``None``.

    The layer's own grammar (``_contract.daemon_address``: ``host:port`` or
    ``tcp:host:port udp:host:port``), so the local tools send exactly where a
    traced function would.
    """
    return grammar.daemon_address(value) if value else None


def send_documents(documents: Iterable[dict[str, Any]], address: tuple[str, int] | None) -> int:
    """Send each document as one datagram (header line + JSON); returns how many were sent.

    Never raises for a send that fails or a document too large to arrive (it is skipped).
    """
    if address is None:
        return 0
    sent = 0
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for doc in documents:
            data = _HEADER + json.dumps(doc, separators=(",", ":")).encode()
            if len(data) > MAX_DATAGRAM:
                logger.debug("document %s too large to send (%d bytes)", doc.get("id"), len(data))
                continue
            try:
                sock.sendto(data, address)
                sent += 1
            except OSError:
                logger.debug("could not send document %s", doc.get("id"), exc_info=True)
    return sent
