"""Flows: what an app is made to do locally, and the trace each one must produce.

A flow is one request from a client (upload an object, invoke a function,
publish a message) plus what its trace must show: the handler subsegment the
layer opens (``## module.func``) with the downstream calls it makes (status
200), or a fault with a given message. The app declares its flows next to its
``app.py`` (the reference app: ``demo_flows.py``) with the action builders
here (:func:`put_object`, :func:`invoke`, :func:`publish`), which name the
stack *outputs* that hold the bucket, function or topic, never a physical name.

The step runner (:mod:`cdk_lambda_xray.local.runner`) runs each flow inside a
client segment and waits until :func:`missing_flows` is empty.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .client_trace import disconnection
from .steps import StepFailed
from .traceview import Node, Trace, build_traces

__all__ = [
    "FlowAction",
    "FlowContext",
    "FlowSpec",
    "find_flow_trace",
    "invoke",
    "invoke_function",
    "missing_flows",
    "publish",
    "put_object",
]

#: Placeholder replaced by the run's time stamp in keys, payload strings and messages.
STAMP = "{stamp}"


@dataclass
class FlowContext:
    """What a flow's action gets: clients (traced), the stack outputs, the run's stamp."""

    #: ``client("s3")``: a boto3 client aimed at the emulator, its calls in the flow's trace.
    client: Callable[[str], Any]
    outputs: Mapping[str, str]
    stamp: str
    key: str = ""
    #: Each invocation's ``{"function_error": ..., "payload": ...}``, by flow key.
    invocations: dict[str, dict[str, Any]] = field(default_factory=dict)

    def output(self, name: str) -> str:
        """The stack output ``name``; a missing one fails the flow naming what there is."""
        try:
            return self.outputs[name]
        except KeyError:
            have = ", ".join(sorted(self.outputs)) or "none"
            raise StepFailed(f"the stack has no output {name!r} (outputs: {have})") from None


#: A flow's action: does the request, returns the one-line detail shown for the step.
FlowAction = Callable[[FlowContext], str]


@dataclass(frozen=True)
class FlowSpec:
    """One flow and the trace it must produce."""

    key: str
    title: str
    handler: str
    calls: tuple[tuple[str, str], ...] = ()
    fault_message: str | None = None
    #: What the flow does (``None``: the trace comes from elsewhere, e.g. deploy time).
    action: FlowAction | None = field(default=None, compare=False)
    #: The wire format the flow's function sends: ``"xray"`` or ``"otlp"`` (a function
    #: traced with ``trace_format=TraceFormat.OTLP``); the demo checks its spans came so.
    wire_format: str = "xray"

    @property
    def root_name(self) -> str:
        """Name of the handler subsegment the layer opens (``## module.func``)."""
        return f"## {self.handler}"

    def expectation(self) -> str:
        """What the trace must show, in words (for a flow whose trace did not arrive)."""
        if self.fault_message is not None:
            return f"fault with {self.fault_message!r}"
        return ", ".join(f"{s} {o} 200" for s, o in self.calls)


# -- matching traces -----------------------------------------------------------------


def _descendants(node: Node) -> Iterator[Node]:
    for _, child in node.walk():
        if child is not node:
            yield child


def _matches(node: Node, spec: FlowSpec) -> bool:
    if node.raw_name != spec.root_name:
        return False
    if spec.fault_message is not None:
        return "fault" in node.flags and any(spec.fault_message in m for m in node.exceptions)
    if "fault" in node.flags:
        return False
    return all(
        any(
            d.raw_name == service and d.operation == operation and d.status == 200
            for d in _descendants(node)
        )
        for service, operation in spec.calls
    )


def find_flow_trace(traces: Sequence[Trace], spec: FlowSpec) -> Trace | None:
    """The first trace whose handler subsegment shows what ``spec`` expects."""
    for trace in traces:
        if any(_matches(node, spec) for _, node in trace.nodes()):
            return trace
    return None


def missing_flows(
    documents: list[dict[str, Any]], specs: Sequence[FlowSpec], *, connected: bool = False
) -> list[FlowSpec]:
    """The flows whose expected trace is not (yet) among ``documents``.

    With ``connected``, a trace counts only once it is one connected trace from
    the flow's client segment (``client_trace.disconnection``).
    """
    traces = build_traces(documents)
    found = [(s, find_flow_trace(traces, s)) for s in specs]
    return [
        s for s, trace in found if trace is None or (connected and disconnection(trace) is not None)
    ]


# -- actions -------------------------------------------------------------------------


def _stamped(value: Any, stamp: str) -> Any:
    if isinstance(value, str):
        return value.replace(STAMP, stamp)
    if isinstance(value, dict):
        return {k: _stamped(v, stamp) for k, v in value.items()}
    if isinstance(value, list):
        return [_stamped(v, stamp) for v in value]
    return value


def put_object(bucket_output: str, key: str, body: bytes) -> FlowAction:
    """Upload ``body`` as ``key`` (``{stamp}`` replaced) to the bucket in ``bucket_output``."""

    def action(ctx: FlowContext) -> str:
        bucket, object_key = ctx.output(bucket_output), _stamped(key, ctx.stamp)
        ctx.client("s3").put_object(Bucket=bucket, Key=object_key, Body=body)
        return f"s3://{bucket}/{object_key}"

    return action


def publish(topic_output: str, message: str, *, subject: str | None = None) -> FlowAction:
    """Publish ``message`` (``{stamp}`` replaced) to the topic in ``topic_output``."""

    def action(ctx: FlowContext) -> str:
        params = {"TopicArn": ctx.output(topic_output), "Message": _stamped(message, ctx.stamp)}
        if subject is not None:
            params["Subject"] = subject
        response = ctx.client("sns").publish(**params)
        return f"message {response['MessageId']}"

    return action


def invoke(
    function_output: str, payload: Mapping[str, Any], *, expect_error: bool = False
) -> FlowAction:
    """Invoke the function in ``function_output`` with ``payload`` (strings: ``{stamp}``).

    With ``expect_error`` the function must raise (the step fails if it returns).
    """

    def action(ctx: FlowContext) -> str:
        event = _stamped(dict(payload), ctx.stamp)
        result = invoke_function(ctx.client("lambda"), ctx.output(function_output), event)
        ctx.invocations[ctx.key] = result
        return describe_invocation(result, expect_error=expect_error)

    return action


def invoke_function(lam: Any, function: str, event: Any) -> dict[str, Any]:
    """``Invoke`` (synchronous) ``function``; ``{"function_error": ..., "payload": ...}``."""
    response = lam.invoke(FunctionName=function, Payload=json.dumps(event).encode())
    payload = json.loads(response["Payload"].read() or b"null")
    return {"function_error": response.get("FunctionError"), "payload": payload}


def describe_invocation(result: Mapping[str, Any], *, expect_error: bool) -> str:
    """One line for an invocation; :class:`StepFailed` when it did not do what was expected."""
    error, payload = result["function_error"], result["payload"]
    if expect_error:
        if not error:
            raise StepFailed(f"expected the function to raise, it returned {payload!r}")
        message = payload.get("errorMessage", "") if isinstance(payload, dict) else payload
        return f"raised as asked: {message} (FunctionError {error})"
    if error:
        raise StepFailed(f"function error {error}: {payload!r}")
    return f"returned {payload!r}"
