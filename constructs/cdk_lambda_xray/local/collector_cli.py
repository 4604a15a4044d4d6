"""``python -m cdk_lambda_xray collect``: a local X-Ray daemon stand-in for development.

It reads both wire formats the Lambda tracers send to the daemon address: X-Ray
segment documents and OTLP spans (``T1S``/``T1U``, see :mod:`.collector`).

Listens on UDP (default ``127.0.0.1:2000``, the address the X-Ray SDKs and this
project's layer use when ``AWS_XRAY_DAEMON_ADDRESS`` is unset), prints one line
per received document, and on Ctrl-C / SIGTERM (or after ``--duration``)
stops cleanly and prints the trace trees and what was rejected. ``--output``
keeps every document as JSON lines (``python -m cdk_lambda_xray traces FILE``
shows them later); ``--html`` writes the static trace page.

Exit status: 0 after a normal stop (summary printed, files written); 1 when it
cannot listen on the address or cannot write ``--output`` / ``--html``; 2 for
an invalid command line. Binding an address other than loopback prints a
warning: anyone who can reach it can then send documents.
"""

from __future__ import annotations

import argparse
import math
import os
import signal
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import Any

from cdk_lambda_xray.local.cliout import tolerate_closed_output
from cdk_lambda_xray.local.collector import Collector
from cdk_lambda_xray.local.docmodel import normalise, safe_text
from cdk_lambda_xray.local.settings import DEFAULT_DAEMON_PORT, LOOPBACK_HOST
from cdk_lambda_xray.local.tracefile import append_document
from cdk_lambda_xray.local.tracepage import write_html
from cdk_lambda_xray.local.traceview import build_traces, render_text


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"a port is a number from 0 to 65535, not {text!r}")
    return port


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"seconds are a number of 0 or more, not {text!r}")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m cdk_lambda_xray collect",
        description="Receive X-Ray segment documents on UDP, like the X-Ray daemon, and show them.",
    )
    parser.add_argument(
        "--host",
        default=LOOPBACK_HOST,
        help=f"address to bind (default {LOOPBACK_HOST}; anything else is reachable by other "
        "machines)",
    )
    parser.add_argument(
        "--port",
        type=_port,
        default=DEFAULT_DAEMON_PORT,
        help=f"UDP port (default {DEFAULT_DAEMON_PORT}; 0 picks a free one)",
    )
    parser.add_argument("--output", type=Path, help="append every document to this JSON-lines file")
    parser.add_argument("--html", type=Path, help="write the trace page here when stopping")
    parser.add_argument("--duration", type=_seconds, help="stop after this many seconds")
    parser.add_argument("--quiet", action="store_true", help="no line per document")
    parser.add_argument("--no-color", action="store_true", help="plain text output")
    return parser


def describe(document: dict[str, Any]) -> str:
    """One line for a received document: time, trace id, name, duration, status, flags.

    Built from :func:`~cdk_lambda_xray.local.docmodel.normalise`, so it is safe
    to print whatever the document holds.
    """
    facts, _ = normalise(document, 0)
    parts = [time.strftime("%H:%M:%S"), facts.trace_id, facts.name]
    if facts.start is not None and facts.end is not None and math.isfinite(facts.end - facts.start):
        parts.append(f"{(facts.end - facts.start) * 1000:.1f} ms")
    elif facts.in_progress:
        parts.append("in progress")
    if facts.status is not None:
        parts.append(str(facts.status))
    parts += [f.upper() for f in facts.flags]
    if facts.cold_start:
        parts.append("cold start")
    parts += [f"! {m}" for m in facts.exceptions]
    parts += [f"? odd: {m}" for m in facts.odd]
    return "  ".join(parts)


def _writable(path: Path | None) -> str | None:
    """Why ``path`` cannot be written (``None`` if it can, or was not given); creates nothing."""
    if path is None:
        return None
    shown = safe_text(str(path))
    if path.exists():
        if not path.is_file():
            return f"cannot write {shown}: not a regular file"
        return None if os.access(path, os.W_OK) else f"cannot write {shown}: permission denied"
    ancestor = path.parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir() or not os.access(ancestor, os.W_OK | os.X_OK):
        return f"cannot write {shown}: {safe_text(str(ancestor))} is not a writable directory"
    return None


def _rejected(collector: Collector) -> str:
    counts = collector.reject_counts
    if not counts:
        return "0 rejected"
    by_kind = ", ".join(f"{n} {kind}" for kind, n in sorted(counts.items()))
    return f"{collector.rejects} rejected ({by_kind})"


def _from_otlp(collector: Collector) -> str:
    """`` (N from OTLP spans, M unsampled spans counted)`` when any OTLP datagram arrived."""
    parts = []
    if collector.otlp_spans:
        parts.append(f"{collector.otlp_spans} from OTLP spans")
    if collector.unsampled_spans:
        parts.append(f"{collector.unsampled_spans} unsampled OTLP spans counted")
    return f" ({', '.join(parts)})" if parts else ""


def main(argv: Sequence[str] | None = None) -> int:
    """Run the collector until interrupted; returns the exit status (see the module)."""
    args = _parser().parse_args(argv)
    color = sys.stdout.isatty() and not args.no_color
    problem = _writable(args.output) or _writable(args.html)
    if problem is not None:
        print(problem, file=sys.stderr)
        return 1
    stop = threading.Event()
    lock = threading.Lock()

    def on_document(document: dict[str, Any]) -> None:
        with lock:
            if args.output is not None:
                args.output.parent.mkdir(parents=True, exist_ok=True)
                append_document(args.output, document)
            if not args.quiet:
                print(describe(document), flush=True)

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        collector = Collector(args.host, args.port, on_document=on_document).start()
    except (OSError, ValueError, OverflowError, TypeError) as exc:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        where = safe_text(f"{args.host}:{args.port}")
        print(f"cannot listen on udp {where}: {safe_text(str(exc))}", file=sys.stderr)
        return 1
    try:
        if not collector.loopback:
            print(
                f"warning: listening on {collector.address}, beyond this machine's loopback: "
                "anyone who can reach it can send documents, and traces can carry names "
                "and messages of your code; use --host 127.0.0.1 unless you mean it",
                file=sys.stderr,
                flush=True,
            )
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
    status = 1 if collector.callback_errors and args.output is not None else 0
    html_line = ""
    if args.html is not None:  # first: the page is written even if stdout is gone
        try:
            html_line = f"HTML: {safe_text(str(write_html(traces, args.html)))}"
        except OSError as exc:
            print(f"cannot write the HTML page: {safe_text(str(exc))}", file=sys.stderr)
            status = 1

    def summary() -> int:
        print()
        print(render_text(traces, color=color))
        print(
            f"\n{len(documents)} documents in {len(traces)} traces{_from_otlp(collector)}, "
            f"{_rejected(collector)}"
        )
        if collector.callback_errors:
            target = f"to {safe_text(str(args.output))} " if args.output is not None else ""
            print(f"{collector.callback_errors} documents could not be written {target}or printed")
        if html_line:
            print(html_line)
        return status

    return tolerate_closed_output(summary)
