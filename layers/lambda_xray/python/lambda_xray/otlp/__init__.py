"""The OTLP wire format (``LAMBDA_XRAY_FORMAT=otlp``): spans for Transaction Search.

Loaded only in OTLP mode, by :func:`lambda_xray.emitter.get_emitter`:

- :mod:`._proto`: a minimal protobuf writer (standard library only);
- :mod:`._attributes`: what a recording says, as span attributes;
- :mod:`._spans`: a closed subsegment as an OTLP span, the resource;
- :mod:`._events`, :mod:`._cut`: a span's exception events, a span cut down to fit
  (each loaded when a span first needs it);
- :mod:`._calls`: the span of a successful plain AWS or HTTP call, the short way;
- :mod:`.emitter`: batching per invocation and ``T1S``/``T1U`` datagrams.
"""

#: What every send in OTLP mode needs (importing this package means the OTLP
#: emitter is wanted), leaves first; ``_calls`` waits for the first batch.
ALWAYS: tuple[str, ...] = (
    "lambda_xray.otlp._proto",
    "lambda_xray.otlp._attributes",
    "lambda_xray.otlp._spans",
    "lambda_xray.otlp.emitter",
)

# Served from the layer's bundles: run them now, past import's per-module walk
# (lambda_xray._bundles.Bundles.preload; about 0.1 M instructions each). From
# the source, a plain import loads each as it is needed.
_preload = getattr(globals().get("__loader__"), "preload", None)
if _preload is not None:
    _preload(ALWAYS)
