"""``python -m cdk_lambda_xray collect``: a local X-Ray daemon stand-in for development.

Listens on UDP (default ``127.0.0.1:2000``, the address the X-Ray SDKs and this
project's layer use when ``AWS_XRAY_DAEMON_ADDRESS`` is unset), prints one line
per received document, and on Ctrl-C / SIGTERM (or after ``--duration``)
stops cleanly and prints the trace trees. ``--output`` keeps every document
as JSON lines (``python -m cdk_lambda_xray traces FILE`` shows them later);
``--html`` writes the static trace page.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import Any

from cdk_lambda_xray.local.collector import Collector
from cdk_lambda_xray.local.traceview import (
    Node,
    append_document,
    build_traces,
    render_text,
    write_html,
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m cdk_lambda_xray collect",
        description="Receive X-Ray segment documents on UDP, like the X-Ray daemon, and show them.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument(
        "--port", type=int, default=2000, help="UDP port (default 2000; 0 picks a free one)"
    )
    parser.add_argument("--output", type=Path, help="append every document to this JSON-lines file")
    parser.add_argument("--html", type=Path, help="write the trace page here when stopping")
    parser.add_argument("--duration", type=float, help="stop after this many seconds")
    parser.add_argument("--quiet", action="store_true", help="no line per document")
    parser.add_argument("--no-color", action="store_true", help="plain text output")
    return parser


def describe(document: dict[str, Any]) -> str:
    """One line for a received document: time, trace id, name, duration, status, flags."""
    node = Node(str(document.get("id")), document, document.get("parent_id"))
    parts = [
        time.strftime("%H:%M:%S"),
        str(document.get("trace_id", "?")),
        node.name,
    ]
    if node.duration_ms is not None:
        parts.append(f"{node.duration_ms:.1f} ms")
    elif node.in_progress:
        parts.append("in progress")
    if node.status is not None:
        parts.append(str(node.status))
    parts += [f.upper() for f in node.flags]
    if node.cold_start:
        parts.append("cold start")
    parts += [f"! {m}" for m in node.exceptions]
    return "  ".join(parts)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the collector until interrupted; returns the exit status."""
    args = _parser().parse_args(argv)
    color = sys.stdout.isatty() and not args.no_color
    stop = threading.Event()
    lock = threading.Lock()

    def on_document(document: dict[str, Any]) -> None:
        with lock:
            if args.output is not None:
                append_document(args.output, document)
            if not args.quiet:
                print(describe(document), flush=True)

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        collector = Collector(args.host, args.port, on_document=on_document).start()
    except OSError as exc:
        print(f"cannot listen on udp {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    try:
        if args.output is not None:
            args.output.parent.mkdir(parents=True, exist_ok=True)
        print(
            f"listening on udp {collector.address}  "
            f"(export AWS_XRAY_DAEMON_ADDRESS={collector.address}); Ctrl-C to stop",
            flush=True,
        )
        stop.wait(timeout=args.duration)
    finally:
        collector.stop(drain=0.1)
        for sig, handler in previous.items():
            signal.signal(sig, handler)

    documents = collector.documents
    traces = build_traces(documents)
    print()
    print(render_text(traces, color=color))
    print(
        f"\n{len(documents)} documents in {len(traces)} traces, {collector.rejects} rejected"
        + (f" ({'; '.join(sorted(set(collector.reject_reasons)))})" if collector.rejects else "")
    )
    if args.html is not None:
        print(f"HTML: {write_html(traces, args.html)}")
    return 0
