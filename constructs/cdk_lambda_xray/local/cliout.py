"""Command output that tolerates a reader going away (``... | head``).

Printing to a pipe whose reader has exited raises ``BrokenPipeError``; without
care that ends a command with a traceback (and another one when Python
flushes stdout at exit). :func:`tolerate_closed_output` runs a command's body
and ends it quietly instead.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

__all__ = ["tolerate_closed_output"]


def tolerate_closed_output(body: Callable[[], int]) -> int:
    """``body()``; if its output pipe closes, stop quietly with status 0 (nothing left to show)."""
    try:
        return body()
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # the exit-time flush must not fail again
        os.close(devnull)
        return 0
