"""The OTLP wire format (``LAMBDA_XRAY_FORMAT=otlp``): spans for Transaction Search.

Loaded only in OTLP mode, by :func:`lambda_xray.emitter.get_emitter`:

- :mod:`._proto`: a minimal protobuf writer (standard library only);
- :mod:`._attributes`: what a recording says, as span attributes;
- :mod:`._spans`: a closed subsegment as an OTLP span, the resource;
- :mod:`._calls`: the span of a successful plain AWS or HTTP call, the short way;
- :mod:`.emitter`: batching per invocation and ``T1S``/``T1U`` datagrams.
"""
