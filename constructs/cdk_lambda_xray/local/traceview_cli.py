"""``python -m cdk_lambda_xray traces FILE``: show collected documents as trace trees / HTML.

``FILE`` is JSON lines (what ``collect --output`` writes) or a JSON array of
segment documents.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from cdk_lambda_xray.local.traceview import build_traces, load_documents, render_text, write_html


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m cdk_lambda_xray traces",
        description="Show X-Ray segment documents as trace trees, in the terminal and as HTML.",
    )
    parser.add_argument("file", type=Path, help="JSON-lines file or JSON array of documents")
    parser.add_argument("--html", type=Path, help="also write a static HTML page here")
    parser.add_argument("--trace-id", help="show only this trace")
    parser.add_argument("--no-color", action="store_true", help="plain text output")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Print the traces in a file; returns the exit status (1 if unreadable or none match)."""
    args = _parser().parse_args(argv)
    try:
        documents = load_documents(args.file)
    except (OSError, ValueError) as exc:
        print(f"cannot read documents from {args.file}: {exc}", file=sys.stderr)
        return 1
    traces = build_traces(documents)
    if args.trace_id:
        traces = [t for t in traces if t.trace_id == args.trace_id]
        if not traces:
            print(f"no trace {args.trace_id} in {args.file}", file=sys.stderr)
            return 1
    print(render_text(traces, color=sys.stdout.isatty() and not args.no_color))
    if args.html is not None:
        print(f"\nHTML: {write_html(traces, args.html)}")
    return 0
