"""Read and write segment documents as JSON lines (what ``collect --output`` writes).

:func:`load_documents` is total: a file that cannot be used raises
:class:`TraceFileError` with a one-line message naming the file and the
reason (missing, not a regular file, not UTF-8, a line that is not JSON);
anything else it returns is a list of JSON values for the trace view, which
shows values that are not segment documents as such.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cdk_lambda_xray.local.docmodel import safe_text
from cdk_lambda_xray.local.jsonlimits import JsonRejected, loads_bounded

__all__ = ["TraceFileError", "append_document", "load_documents"]


class TraceFileError(ValueError):
    """The file cannot be read as documents; the message is one line."""


def load_documents(path: Path) -> list[Any]:
    """The JSON values in a JSON-lines file (one per line), or the items of a JSON array file."""
    shown = safe_text(str(path))
    if not path.exists():
        raise TraceFileError(f"{shown}: no such file")
    if not path.is_file():
        raise TraceFileError(f"{shown}: not a regular file")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise TraceFileError(f"{shown}: cannot read ({safe_text(exc.strerror or exc)})") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise TraceFileError(
            f"{shown}: not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start})"
        ) from None
    if text.lstrip().startswith("["):
        try:
            value = loads_bounded(text)
        except JsonRejected:
            value = None  # perhaps JSON lines whose first line is an array: read by line
        if isinstance(value, list):
            return value
    documents = []
    for number, line in enumerate(text.splitlines(), 1):
        if line.strip():
            documents.append(_loads(shown, line, number))
    return documents


def _loads(shown: str, text: str, line: int) -> Any:
    try:
        return loads_bounded(text)
    except JsonRejected as exc:
        raise TraceFileError(f"{shown}: line {line}: {exc} (expected JSON lines)") from None


def append_document(path: Path, document: dict[str, Any]) -> None:
    """Append one document to a JSON-lines file."""
    with path.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(document, separators=(",", ":")) + "\n")
