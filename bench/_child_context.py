"""The Lambda context the benchmarks' children pass to a handler, and the layer's wrapper as
one invocation per call.

``LAMBDA_CONTEXT`` is source text: the cold-start children paste it into their
scripts (they import nothing from here). The per-call children run from this
folder and import :data:`LambdaContext` (the same class) and
:func:`wrapper_invoker`.
"""

from __future__ import annotations

import os
import sys
import types
from collections.abc import Callable
from typing import Any

__all__ = ["LAMBDA_CONTEXT", "LambdaContext", "wrapper_invoker"]

LAMBDA_CONTEXT = """
class Context:
    aws_request_id = "bench-request"
    function_name = "bench"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:000000000000:function:bench"
    memory_limit_in_mb = 128
    log_group_name = "/aws/lambda/bench"
    log_stream_name = "bench"

    def get_remaining_time_in_millis(self):
        return 60000
"""

_namespace: dict[str, Any] = {}
exec(LAMBDA_CONTEXT, _namespace)
#: The class :data:`LAMBDA_CONTEXT` defines.
LambdaContext: Any = _namespace["Context"]


def wrapper_invoker() -> Callable[[Callable[[], object]], None]:
    """``invoke(work)``: one invocation of the layer's real wrapper, ``work`` as the handler.

    The function module is the one ``LAMBDA_XRAY_HANDLER`` names (the parent set
    it), made here; the process's first, cold invocation is made before returning,
    so every ``invoke`` is a warm one, as a function's second invocation on.
    """
    work: list[Callable[[], object]] = [lambda: None]
    module = types.ModuleType(os.environ["LAMBDA_XRAY_HANDLER"].rpartition(".")[0])

    def handler(event: Any, context: Any) -> str:
        work[0]()
        return "ok"

    module.handler = handler  # type: ignore[attr-defined]
    sys.modules[module.__name__] = module
    import lambda_xray.handler

    wrapper, context = lambda_xray.handler.handler, LambdaContext()

    def invoke(run: Callable[[], object]) -> None:
        work[0] = run
        wrapper({}, context)

    invoke(lambda: None)  # the cold invocation of the process
    return invoke
