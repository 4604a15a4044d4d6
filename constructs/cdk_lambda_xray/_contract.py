"""Names shared with the runtime layer (``lambda_xray``), the synth-side copy.

The construct library and the layer never import each other; they agree on
these names only. ``tests/test_contract.py`` proves both copies are equal.
"""

from __future__ import annotations

from typing import Final

#: What ``Handler`` is set to on a traced Python function.
WRAPPER_HANDLER: Final = "lambda_xray.handler.handler"

#: The user's original handler string (``module.func`` or ``pkg/mod.func``).
ENV_HANDLER: Final = "LAMBDA_XRAY_HANDLER"
#: Service name recorded as the ``Service`` annotation (default: function name).
ENV_SERVICE_NAME: Final = "LAMBDA_XRAY_SERVICE_NAME"
#: ``true``/``false``: record the handler's response as metadata (default false).
ENV_CAPTURE_RESPONSE: Final = "LAMBDA_XRAY_CAPTURE_RESPONSE"
#: ``true``/``false``: record the handler's exception as metadata (default true).
ENV_CAPTURE_ERROR: Final = "LAMBDA_XRAY_CAPTURE_ERROR"
#: ``true``: the layer records nothing (kill switch, default false).
ENV_DISABLED: Final = "LAMBDA_XRAY_DISABLED"

#: Context-missing strategy, read by the layer (Lambda's own name).
ENV_CONTEXT_MISSING: Final = "AWS_XRAY_CONTEXT_MISSING"
#: Where the X-Ray daemon listens; set by Lambda, never by us.
ENV_DAEMON_ADDRESS: Final = "AWS_XRAY_DAEMON_ADDRESS"
#: The trace header Lambda sets per invocation; reserved.
ENV_TRACE_ID: Final = "_X_AMZN_TRACE_ID"

CONTEXT_MISSING_VALUES: Final = ("LOG_ERROR", "RUNTIME_ERROR", "IGNORE_ERROR")
DEFAULT_CONTEXT_MISSING: Final = "LOG_ERROR"
DEFAULT_DAEMON_ADDRESS: Final = "127.0.0.1:2000"

#: Variables Lambda reserves: a function must not set them.
RESERVED_ENV_VARS: Final = frozenset(
    {
        "_HANDLER",
        "_X_AMZN_TRACE_ID",
        "AWS_REGION",
        "AWS_EXECUTION_ENV",
        "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        "AWS_LAMBDA_FUNCTION_VERSION",
        "AWS_LAMBDA_INITIALIZATION_TYPE",
        "AWS_LAMBDA_LOG_GROUP_NAME",
        "AWS_LAMBDA_LOG_STREAM_NAME",
        "AWS_ACCESS_KEY",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_LAMBDA_RUNTIME_API",
        "LAMBDA_TASK_ROOT",
        "LAMBDA_RUNTIME_DIR",
    }
)

#: Set by ADOT and vendor layers; our redirect must not stack on top of it.
ENV_EXEC_WRAPPER: Final = "AWS_LAMBDA_EXEC_WRAPPER"
