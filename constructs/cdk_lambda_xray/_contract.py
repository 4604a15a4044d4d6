"""Names shared with the runtime layer (``lambda_xray``), read from the layer's own file.

The construct library and the layer never import each other as packages; the
names both use are defined once, in the layer's ``_contract.py``, and loaded
from there (see ``_shared``). Synth-only names follow.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:  # the same file, under the name mypy finds it by
    from lambda_xray._contract import (
        AWS_NAMES,
        AWS_NAMES_LAYER,
        AWS_NAMES_SDK,
        CONTEXT_MISSING_VALUES,
        DEFAULT_CONTEXT_MISSING,
        DEFAULT_DAEMON_ADDRESS,
        ENV_AWS_NAMES,
        ENV_CAPTURE_ERROR,
        ENV_CAPTURE_RESPONSE,
        ENV_CAPTURE_SQL,
        ENV_CONTEXT_MISSING,
        ENV_DAEMON_ADDRESS,
        ENV_DISABLED,
        ENV_FORMAT,
        ENV_HANDLER,
        ENV_OTLP_UNSAMPLED,
        ENV_SERVICE_NAME,
        ENV_TRACE_ID,
        FORMAT_OTLP,
        FORMAT_XRAY,
        FORMATS,
        WRAPPER_HANDLER,
    )
else:
    from ._shared._contract import (
        AWS_NAMES,
        AWS_NAMES_LAYER,
        AWS_NAMES_SDK,
        CONTEXT_MISSING_VALUES,
        DEFAULT_CONTEXT_MISSING,
        DEFAULT_DAEMON_ADDRESS,
        ENV_AWS_NAMES,
        ENV_CAPTURE_ERROR,
        ENV_CAPTURE_RESPONSE,
        ENV_CAPTURE_SQL,
        ENV_CONTEXT_MISSING,
        ENV_DAEMON_ADDRESS,
        ENV_DISABLED,
        ENV_FORMAT,
        ENV_HANDLER,
        ENV_OTLP_UNSAMPLED,
        ENV_SERVICE_NAME,
        ENV_TRACE_ID,
        FORMAT_OTLP,
        FORMAT_XRAY,
        FORMATS,
        WRAPPER_HANDLER,
    )

__all__ = [
    "AWS_NAMES",
    "AWS_NAMES_LAYER",
    "AWS_NAMES_SDK",
    "CONTEXT_MISSING_VALUES",
    "DEFAULT_CONTEXT_MISSING",
    "DEFAULT_DAEMON_ADDRESS",
    "ENV_AWS_NAMES",
    "ENV_CAPTURE_ERROR",
    "ENV_CAPTURE_RESPONSE",
    "ENV_CAPTURE_SQL",
    "ENV_CONTEXT_MISSING",
    "ENV_DAEMON_ADDRESS",
    "ENV_DISABLED",
    "ENV_EXEC_WRAPPER",
    "ENV_FORMAT",
    "ENV_HANDLER",
    "ENV_OTLP_UNSAMPLED",
    "ENV_SERVICE_NAME",
    "ENV_TRACE_ID",
    "FORMATS",
    "FORMAT_OTLP",
    "FORMAT_XRAY",
    "RESERVED_ENV_VARS",
    "WRAPPER_HANDLER",
]

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
