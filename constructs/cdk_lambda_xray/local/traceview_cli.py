"""``python -m cdk_lambda_xray traces FILE``: show collected documents as trace trees / HTML.

After the trees comes the trace map (every service and the requests between
them) as a table; the HTML page draws it as a graph above the traces.

``FILE`` is JSON lines (what ``collect --output`` writes) or a JSON array of
segment documents. Lines that are JSON but not segment documents (``5``, an
object without ``id``) are shown, marked odd.

Exit status: 0 when the traces were shown (also when the file holds none, or
the reader of the output stopped early, as ``| head`` does); 1 when
``--trace-id`` matches no trace; 2 when ``FILE`` cannot be used (missing, not
a regular file, not UTF-8, a line that is not JSON), the HTML page cannot be
written, or the command line is invalid. Every failure is one line on stderr.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from cdk_lambda_xray.local.cliout import tolerate_closed_output
from cdk_lambda_xray.local.docmodel import safe_text
from cdk_lambda_xray.local.tracefile import TraceFileError, load_documents
from cdk_lambda_xray.local.tracemap import build_map
from cdk_lambda_xray.local.tracemap_render import render_map_text
from cdk_lambda_xray.local.tracepage import write_html
from cdk_lambda_xray.local.traceview import build_traces, render_text

#: Exit status when ``--trace-id`` matches nothing.
NO_MATCH = 1
#: Exit status when the input file or the HTML page cannot be used.
BAD_INPUT = 2


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
    """Print the traces in a file; returns the exit status (see the module)."""
    args = _parser().parse_args(argv)
    return tolerate_closed_output(lambda: _show(args))


def _show(args: argparse.Namespace) -> int:
    try:
        documents = load_documents(args.file)
    except TraceFileError as exc:
        print(f"cannot read documents: {exc}", file=sys.stderr)
        return BAD_INPUT
    traces = build_traces(documents)
    if args.trace_id is not None:
        traces = [t for t in traces if t.trace_id == args.trace_id]
        if not traces:
            print(
                f"no trace {safe_text(args.trace_id)} in {safe_text(str(args.file))}",
                file=sys.stderr,
            )
            return NO_MATCH
    html_line = ""
    if args.html is not None:  # first: the page is written even if stdout goes away
        try:
            html_line = f"\nHTML: {safe_text(str(write_html(traces, args.html)))}"
        except OSError as exc:
            print(f"cannot write the HTML page: {safe_text(str(exc))}", file=sys.stderr)
            return BAD_INPUT
    print(render_text(traces, color=sys.stdout.isatty() and not args.no_color))
    if traces:
        print()
        print(render_map_text(build_map(traces)))
    if html_line:
        print(html_line)
    return 0
