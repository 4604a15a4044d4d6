"""A function under test run by the real ``awslambdaric`` (the database and async-client tests).

:class:`RuntimeFunction` starts ``python -m awslambdaric
lambda_xray.handler.handler`` (via :mod:`lx_runtime_api`) with the layer on
``PYTHONPATH`` as ``/opt/python`` and ``app.handler`` as the function, and
reads what the layer sent from a local collector.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from lx_runtime_api import (
    LambdaProcess,
    RuntimeApi,
    new_trace_id,
    nothing_sent,
    trace_documents,
    trace_header,
)
from lx_schema import validate_subsegment


class RuntimeFunction:
    """One ``python -m awslambdaric lambda_xray.handler.handler`` process and its collector.

    ``app.handler`` in ``task_root`` is the function; the layer is on
    ``PYTHONPATH`` as ``/opt/python``. Use as a context manager.
    """

    def __init__(
        self,
        collector: Any,
        task_root: Path,
        log_path: Path,
        layer_python: Path,
        env: dict[str, str] | None = None,
    ) -> None:
        self.collector = collector
        self._stack = contextlib.ExitStack()
        self.api = self._stack.enter_context(RuntimeApi())
        self.proc = self._stack.enter_context(
            LambdaProcess(
                self.api,
                handler="lambda_xray.handler.handler",
                task_root=task_root,
                layer_python=layer_python,
                log_path=log_path,
                env={
                    "AWS_XRAY_DAEMON_ADDRESS": collector.address,
                    "LAMBDA_XRAY_HANDLER": "app.handler",
                    **(env or {}),
                },
            )
        )

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stack.close()

    def invoke(self, event: Any, trace: str | None) -> Any:
        """The handler's response (an error outcome fails the test with the function's log)."""
        try:
            outcome = self.api.invoke(event, trace_id=trace, timeout=60)
        except TimeoutError as e:
            raise AssertionError(f"{e}\nfunction log:\n{self.proc.log()[-3000:]}") from e
        assert outcome.kind == "response", (outcome.body, self.proc.log()[-3000:])
        return outcome.json()

    def docs(self, trace_id: str, count: int, timeout: float = 15) -> list[dict[str, Any]]:
        """Wait for ``count`` documents of ``trace_id`` and return them (no more arrive),
        each one validated against the schema."""
        got = trace_documents(
            self.collector, trace_id, count, log=self.proc.log, timeout=timeout, settle=0.1
        )
        assert len(got) == count, got
        for doc in got:
            validate_subsegment(doc)
        return got

    def invoke_calls(
        self, event: Any, expected_calls: int
    ) -> tuple[Any, dict[str, Any], list[dict[str, Any]]]:
        """Invoke with ``event`` in a new sampled trace; return (response, root document,
        call documents by start time). The root is
        ``## app.handler`` and every call is its child."""
        trace_id = new_trace_id()
        response = self.invoke(event, trace_header(trace_id))
        docs = self.docs(trace_id, expected_calls + 1)
        (root,) = [d for d in docs if d["name"] == "## app.handler"]
        calls = sorted((d for d in docs if d is not root), key=lambda d: d["start_time"])
        for call in calls:
            assert call["parent_id"] == root["id"]
        return response, root, calls

    def nothing_sent(self, trace_id: str) -> bool:
        """True if no document of ``trace_id`` arrived (see :func:`lx_runtime_api.nothing_sent`)."""
        return nothing_sent(self, trace_id)
