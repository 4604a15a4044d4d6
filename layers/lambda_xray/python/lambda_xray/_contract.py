"""Names shared with the construct library: the one copy, shipped in the layer.

The construct library loads this very file (``cdk_lambda_xray._shared``), so
the handler, the variables and their values cannot drift between the halves.
The grammar of each value is in ``_grammar``. Only constants here, and no
absolute import of ``lambda_xray`` (the library loads it under another
package name): importing it costs nothing at cold start.
"""

from __future__ import annotations

TYPE_CHECKING = False  # no `typing` import at run time: it costs cold start
if TYPE_CHECKING:
    from typing import Final

#: What ``Handler`` is set to on a traced Python function.
WRAPPER_HANDLER: Final = "lambda_xray.handler.handler"

#: The user's original handler string (``module.func`` or ``pkg/mod.func``).
ENV_HANDLER: Final = "LAMBDA_XRAY_HANDLER"
#: Service name recorded as the ``Service`` annotation (default: function name).
ENV_SERVICE_NAME: Final = "LAMBDA_XRAY_SERVICE_NAME"
#: Boolean: record the handler's response as metadata (default false).
ENV_CAPTURE_RESPONSE: Final = "LAMBDA_XRAY_CAPTURE_RESPONSE"
#: Boolean: record the handler's exception as metadata (default true).
ENV_CAPTURE_ERROR: Final = "LAMBDA_XRAY_CAPTURE_ERROR"
#: Boolean: the layer records nothing (kill switch, default false).
ENV_DISABLED: Final = "LAMBDA_XRAY_DISABLED"
#: The wire format sent to the daemon: ``xray`` (default) or ``otlp``.
ENV_FORMAT: Final = "LAMBDA_XRAY_FORMAT"
#: Boolean, OTLP only: also send ``Sampled=0`` invocations (``T1U``).
ENV_OTLP_UNSAMPLED: Final = "LAMBDA_XRAY_OTLP_UNSAMPLED"
#: Boolean: record database query text (literals removed) in the ``sql`` block.
ENV_CAPTURE_SQL: Final = "LAMBDA_XRAY_CAPTURE_SQL"
#: How subsegments of AWS calls are named in the X-Ray format: ``layer`` or ``sdk``.
ENV_AWS_NAMES: Final = "LAMBDA_XRAY_AWS_NAMES"

#: Context-missing strategy, read by the layer (Lambda's own name, read by
#: every X-Ray SDK too).
ENV_CONTEXT_MISSING: Final = "AWS_XRAY_CONTEXT_MISSING"
#: Where the X-Ray daemon listens; set by Lambda, never by us.
ENV_DAEMON_ADDRESS: Final = "AWS_XRAY_DAEMON_ADDRESS"
#: The trace header Lambda sets per invocation; reserved.
ENV_TRACE_ID: Final = "_X_AMZN_TRACE_ID"

CONTEXT_MISSING_VALUES: Final = ("LOG_ERROR", "RUNTIME_ERROR", "IGNORE_ERROR")
DEFAULT_CONTEXT_MISSING: Final = "LOG_ERROR"
DEFAULT_DAEMON_ADDRESS: Final = "127.0.0.1:2000"

#: X-Ray segment documents (the default).
FORMAT_XRAY: Final = "xray"
#: OTLP spans (``T1S``/``T1U`` datagrams), see ``lambda_xray.otlp``.
FORMAT_OTLP: Final = "otlp"
FORMATS: Final = (FORMAT_XRAY, FORMAT_OTLP)

#: The service id, as the AWS console shows it: ``DynamoDB``, ``S3``, ``SFN`` (the default).
AWS_NAMES_LAYER: Final = "layer"
#: aws-xray-sdk's names, the endpoint prefix: ``dynamodb``, ``s3``, ``states``.
AWS_NAMES_SDK: Final = "sdk"
AWS_NAMES: Final = (AWS_NAMES_LAYER, AWS_NAMES_SDK)
