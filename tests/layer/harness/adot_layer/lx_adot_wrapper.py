"""The handler wrapper of ADOT's Lambda layer, rebuilt from PyPI packages (a stand-in).

ADOT's Lambda layer is not on PyPI: its ``otel-instrument`` script sets the
environment (:func:`lx_adot.lite_environment`) and points ``_HANDLER`` at
its ``otel_wrapper`` module, which in lite mode (``OTEL_AWS_LAMBDA_FAST_START``)
configures the distro's lite SDK, instruments the handler with
``AwsLambdaInstrumentor`` (parent from ``_X_AMZN_TRACE_ID``) and imports
the function. This module does those steps with the real packages
(``aws-opentelemetry-distro``, ``opentelemetry-instrumentation-aws-lambda``);
it runs only in ``.venv-adot``. The one known difference from the layer: the
layer ships its own copy of the Lambda instrumentation, which names the
invocation's span after the handler (``app.handler``); PyPI's names it after
the function.
"""

import os
from importlib import import_module

from amazon.opentelemetry.distro.opentelemetry_lite_sdk import configure_lite_mode
from opentelemetry.context import Context
from opentelemetry.instrumentation.aws_lambda import AwsLambdaInstrumentor
from opentelemetry.propagate import get_global_textmap
from opentelemetry.trace import get_current_span

configure_lite_mode()


def _parent_from_lambda(event: object) -> Context:
    """The invocation's parent: Lambda's ``_X_AMZN_TRACE_ID``, through the X-Ray propagator."""
    carrier = {"X-Amzn-Trace-Id": os.environ.get("_X_AMZN_TRACE_ID", "")}
    context = get_global_textmap().extract(carrier)
    return context if get_current_span(context).get_span_context().is_valid else Context()


AwsLambdaInstrumentor().instrument(event_context_extractor=_parent_from_lambda)

_module, _name = os.environ["ORIG_HANDLER"].rsplit(".", 1)
lambda_handler = getattr(import_module(_module.replace("/", ".")), _name)
