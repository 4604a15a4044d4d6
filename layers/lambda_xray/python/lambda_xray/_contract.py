"""Names shared with the construct library, the runtime-side copy.

Kept byte-for-byte in step with ``cdk_lambda_xray._contract`` for the names
both sides use; ``tests/test_contract.py`` checks it. Only constants here:
importing this module must cost nothing at cold start.
"""

from __future__ import annotations

TYPE_CHECKING = False  # no `typing` import at run time: it costs cold start
if TYPE_CHECKING:
    from typing import Final

WRAPPER_HANDLER: Final = "lambda_xray.handler.handler"

ENV_HANDLER: Final = "LAMBDA_XRAY_HANDLER"
ENV_SERVICE_NAME: Final = "LAMBDA_XRAY_SERVICE_NAME"
ENV_CAPTURE_RESPONSE: Final = "LAMBDA_XRAY_CAPTURE_RESPONSE"
ENV_CAPTURE_ERROR: Final = "LAMBDA_XRAY_CAPTURE_ERROR"
ENV_DISABLED: Final = "LAMBDA_XRAY_DISABLED"

ENV_CONTEXT_MISSING: Final = "AWS_XRAY_CONTEXT_MISSING"
ENV_DAEMON_ADDRESS: Final = "AWS_XRAY_DAEMON_ADDRESS"
ENV_TRACE_ID: Final = "_X_AMZN_TRACE_ID"

CONTEXT_MISSING_VALUES: Final = ("LOG_ERROR", "RUNTIME_ERROR", "IGNORE_ERROR")
DEFAULT_CONTEXT_MISSING: Final = "LOG_ERROR"
DEFAULT_DAEMON_ADDRESS: Final = "127.0.0.1:2000"
