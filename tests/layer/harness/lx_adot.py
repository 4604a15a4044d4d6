"""ADOT's Python distro in lite mode, as its Lambda layer runs a function (test and bench only).

``aws-opentelemetry-distro`` pins protobuf, PyYAML and ``opentelemetry-*``
versions that conflict with ``requirements.txt``, so it lives in its own
virtualenv, ``.venv-adot`` (``make setup`` builds it from
``requirements-adot.txt``). A function runs there under ``awslambdaric``
with :data:`HANDLER` as its handler and :func:`lite_environment`'s variables,
what ADOT's ``otel-instrument`` wrapper script exports before it starts the
runtime.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[3]
#: The interpreter of ``.venv-adot``.
PYTHON = REPO_ROOT / ".venv-adot" / "bin" / "python"
#: Plays ``/opt/python`` of ADOT's layer: the handler wrapper.
LAYER_PYTHON = Path(__file__).resolve().parent / "adot_layer"
#: ``_HANDLER`` as ADOT's wrapper script sets it (the wrapper module's handler).
HANDLER = "lx_adot_wrapper.lambda_handler"


def require_python() -> str:
    """The ADOT interpreter's path; ``AssertionError`` naming the fix when it is missing."""
    assert PYTHON.is_file(), f"{PYTHON} is missing: run `make setup` (it builds .venv-adot)"
    return str(PYTHON)


def lite_environment(function_env: Mapping[str, str], handler: str) -> dict[str, str]:
    """The variables ADOT's ``otel-instrument`` exports for a function, in lite mode.

    ``function_env``: the Lambda variables (function name, version, region,
    log group and stream); ``handler``: the function's own handler
    (``ORIG_HANDLER``). Application Signals on (the layer's default), metrics
    and logs exporters off, propagators ``baggage,xray,tracecontext``.
    """
    name = function_env.get("AWS_LAMBDA_FUNCTION_NAME", "")
    resource = ",".join(
        f"{key}={value}"
        for key, value in (
            ("cloud.region", function_env.get("AWS_REGION", "")),
            ("cloud.platform", "aws_lambda"),
            ("cloud.provider", "aws"),
            ("faas.name", name),
            ("faas.version", function_env.get("AWS_LAMBDA_FUNCTION_VERSION", "")),
            ("faas.instance", function_env.get("AWS_LAMBDA_LOG_STREAM_NAME", "")),
            ("aws.log.group.names", function_env.get("AWS_LAMBDA_LOG_GROUP_NAME", "")),
        )
    )
    return {
        "OTEL_SERVICE_NAME": name,
        "OTEL_RESOURCE_ATTRIBUTES": resource,
        "OTEL_PROPAGATORS": "baggage,xray,tracecontext",
        "OTEL_AWS_APPLICATION_SIGNALS_RUNTIME_ENABLED": "false",
        "OTEL_METRICS_EXPORTER": "none",
        "OTEL_LOGS_EXPORTER": "none",
        "OTEL_AWS_LAMBDA_FAST_START": "true",
        "OTEL_AWS_APPLICATION_SIGNALS_ENABLED": "true",
        "OTEL_PYTHON_DISTRO": "aws_distro",
        "OTEL_PYTHON_CONFIGURATOR": "aws_configurator",
        "ORIG_HANDLER": handler,
    }
