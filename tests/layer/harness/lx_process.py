"""Processes the tests start: stopping a process group, running code in a fresh interpreter.

:func:`stop_group` stops a server or function the harness started in its own
process group; :func:`run_python` runs a test's code in a fresh ``python -c``
(import state can only be shown in a fresh process) and reads the one JSON
object it prints last.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Mapping
from typing import Any


def stop_group(proc: subprocess.Popen[bytes], first: int, grace: float) -> None:
    """Send ``first`` to ``proc``'s process group; after ``grace`` seconds, SIGKILL it.

    A group already gone (or no longer ours) is not an error.
    """
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, first)
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)


def run_python(code: str, env: Mapping[str, str]) -> dict[str, Any]:
    """Run ``code`` (dedented) in a fresh ``python -c`` with exactly ``env``; return the
    JSON object its last line of output prints, plus its ``stderr``.

    A non-zero exit fails the test with the process's standard error.
    """
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    result["stderr"] = out.stderr
    return result
