"""``TracedFunction``: a ``lambda_.Function`` traced with AWS X-Ray."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aws_cdk import Annotations, AssetStaging
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from . import _inputs
from ._apply import attach_aws_managed_policies
from ._code_facts import function_code_facts
from ._instrument import (
    is_image_runtime,
    is_python_runtime,
    runtime_name,
    tracing_mode,
)
from ._options import ContextMissing
from ._permissions import grant_xray_write
from ._plan import (
    UNKNOWN,
    Finding,
    FunctionFacts,
    LayerParts,
    Level,
    Plan,
    TraceFormat,
    TracingOptions,
    layer_parts_of,
    plan,
)
from ._plan import xray_sdk_finding as _xray_sdk_finding
from ._tracers import xray_sdk_in_tree
from .errors import TracingConfigError
from .layer import TracingLayer
from .validation import environment_problems, is_unresolved

__all__ = ["ContextMissing", "LayerParts", "TraceFormat", "TracedFunction"]


_LAMBDA = _inputs.lambda_specs()


def _path(scope: Construct, id: str) -> str:
    """The function's construct path (read only for an error message)."""
    parent = scope.node.path
    return f"{parent}/{id}" if parent else id


def _known(env: Mapping[str, str]) -> dict[str, object]:
    """The user's variables with tokens as :data:`UNKNOWN` (plain strings cost no jsii call)."""
    return {key: UNKNOWN if is_unresolved(value) else value for key, value in env.items()}


def _context_missing(value: ContextMissing | str | None) -> str | None:
    return value.value if isinstance(value, ContextMissing) else value


def _layer_parts(value: LayerParts | Sequence[str] | None) -> LayerParts | tuple[str, ...]:
    if value is None:
        return LayerParts.AUTO
    return value if isinstance(value, LayerParts) else tuple(value)


@dataclass
class _Children:
    """What ``TracedFunction`` reads under itself after creation (one ``find_all``)."""

    cfn: lambda_.CfnFunction | None = None
    own_role: iam.Role | None = None
    staging: AssetStaging | None = None


class TracedFunction(lambda_.Function):
    """A Lambda function traced with AWS X-Ray, end to end.

    Takes every ``aws_lambda.Function`` prop, plus the tracing options below,
    and adds:

    * tracing ``ACTIVE`` (``PASS_THROUGH`` or ``DISABLED`` selectable);
    * ``xray:PutTraceSegments`` and ``xray:PutTelemetryRecords`` on the role,
      when tracing is ``ACTIVE``: inline in the role the function creates, or
      in a policy of its own for a role you pass (warns if the role is
      imported and immutable);
    * ``AWS_XRAY_CONTEXT_MISSING`` for every runtime;
    * for Python runtimes: the stack's :class:`TracingLayer`, ``Handler`` set to
      ``lambda_xray.handler.handler`` and the original handler in
      ``LAMBDA_XRAY_HANDLER``, plus the ``LAMBDA_XRAY_*`` switches.

    Other runtimes and container images are traced without the layer; an info
    annotation says so. Your own environment variables are kept: a
    ``LAMBDA_XRAY_*`` or ``AWS_XRAY_CONTEXT_MISSING`` variable you set is used
    when the matching prop is left out, and giving both with different values
    is an error.

    With ``trace_format=TraceFormat.OTLP`` the layer sends OpenTelemetry spans
    instead of X-Ray segments; ``application_signals=True`` also attaches the
    AWS managed policy Application Signals needs and sends unsampled spans.

    :raises TracingConfigError: for settings that cannot work (reserved
        variables, unknown context-missing value, malformed daemon address,
        more than 5 layers, another tracer's wrapper, a layer on a container
        image or a non-Python runtime, OTLP or Application Signals without
        the layer, Application Signals with the X-Ray format).
    """

    @_inputs.entry(
        "TracedFunction",
        _inputs.scope_and_id(),
        scope=_inputs.CONSTRUCT,
        id=_inputs.CONSTRUCT_ID,
        runtime=_LAMBDA["runtime"],
        handler=_LAMBDA["handler"],
        code=_LAMBDA["code"],
        context_missing=_LAMBDA["context_missing"],
        service_name=_LAMBDA["service_name"],
        capture_response=_LAMBDA["capture_response"],
        capture_error=_LAMBDA["capture_error"],
        tracing=_LAMBDA["tracing"],
        tracing_layer=_LAMBDA["tracing_layer"],
        environment=_LAMBDA["environment"],
        layers=_LAMBDA["layers"],
        trace_format=_inputs.optional(_inputs.enum_member(TraceFormat)),
        application_signals=_inputs.optional(_inputs.BOOL),
        layer_parts=_LAMBDA["layer_parts"],
        function_props=_inputs.props_of(lambda_.FunctionProps),
    )
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        runtime: lambda_.Runtime,
        handler: str,
        code: lambda_.Code,
        context_missing: ContextMissing | str | None = None,
        service_name: str | None = None,
        capture_response: bool | None = None,
        capture_error: bool | None = None,
        tracing: lambda_.Tracing = lambda_.Tracing.ACTIVE,
        tracing_layer: lambda_.ILayerVersion | None = None,
        environment: Mapping[str, str] | None = None,
        layers: Sequence[lambda_.ILayerVersion] | None = None,
        trace_format: TraceFormat | None = None,
        application_signals: bool | None = None,
        layer_parts: LayerParts | Sequence[str] | None = None,
        **function_props: Any,
    ) -> None:
        """Create the function.

        :param context_missing: what the tracing code does outside an
            invocation. Default: ``LOG_ERROR`` (or your
            ``AWS_XRAY_CONTEXT_MISSING`` variable). A plain string must be one
            of the enum's names.
        :param service_name: recorded as the ``Service`` annotation on every
            trace. Default: the function name (decided by the layer).
        :param capture_response: record the handler's return value as metadata.
            Default: ``False`` (responses can hold personal data).
        :param capture_error: record the handler's exception. Default: ``True``.
        :param tracing: Default: ``Tracing.ACTIVE``.
        :param tracing_layer: the layer to use. Default: ``TracingLayer.of(self, runtime)``,
            one shared layer per Python version and stack. Only for Python zip functions.
        :param trace_format: what the layer sends: ``TraceFormat.XRAY`` segment
            documents or ``TraceFormat.OTLP`` spans (``LAMBDA_XRAY_FORMAT``).
            Default: X-Ray (or your ``LAMBDA_XRAY_FORMAT`` variable). OTLP needs the
            layer: a Python runtime it serves.
        :param application_signals: what AWS documents for CloudWatch Application
            Signals on Lambda: the AWS managed policy
            ``CloudWatchLambdaApplicationSignalsExecutionRolePolicy`` on the role,
            OTLP spans and ``LAMBDA_XRAY_OTLP_UNSAMPLED=true`` (unsampled spans too,
            for the metrics). Default: ``False``. Cannot be combined with
            ``trace_format=TraceFormat.XRAY``.
        :param layer_parts: what the function's tracing layer holds besides its
            core. Default: ``LayerParts.AUTO``, what the function shows it needs
            (its trace format, the client libraries in its code asset and other
            layers, an import of ``lambda_xray.compat``; every part when its
            code cannot be read). ``LayerParts.ALL``: every part. A list of part
            names (``["databases"]``) adds those to what ``AUTO`` chooses.
        :param function_props: every other ``aws_lambda.Function`` prop.
        """
        # Every property read and method call on a CDK object is a round trip to
        # the jsii runtime: this constructor makes as few as it can (see
        # docs/constructs.md, "Synth cost"). The decision itself is _plan.plan's.
        user_env = dict(environment or {})
        layers = list(layers or [])
        runtime_id = runtime_name(runtime)
        python = is_python_runtime(runtime)
        image = is_image_runtime(runtime)
        given_role = function_props.get("role")

        for problem in environment_problems(user_env):
            raise TracingConfigError(_path(scope, id), problem.problem, problem.fix)
        facts = FunctionFacts(
            runtime=runtime_id if python or not image else None,
            handler=handler,  # a token string too: it moves to LAMBDA_XRAY_HANDLER as it is
            environment=_known(user_env),
            layer_count=len(layers),
            image=image,
            adot_instrumentation=function_props.get("adot_instrumentation") is not None,
            role_in_app=given_role is None or isinstance(given_role, iam.Role),
        )
        options = TracingOptions(
            explicit=True,
            tracing=tracing_mode(tracing),
            context_missing=_context_missing(context_missing),
            service_name=service_name,
            capture_response=capture_response,
            capture_error=capture_error,
            own_layer=tracing_layer is not None,
            trace_format=trace_format,
            application_signals=bool(application_signals),
            layer_parts=_layer_parts(layer_parts),
        )
        # The code is read once the function has staged it (bundled, maybe):
        # the layer parts are decided then, the rest of the plan now.
        decided = plan(facts, options)
        for error in decided.errors:
            raise TracingConfigError(_path(scope, id), error.problem, error.fix)
        user_env.update(decided.environment)
        other_layers = list(layers)
        if decided.layer and tracing_layer is not None:
            layers.append(tracing_layer)

        super().__init__(
            scope,
            id,
            runtime=runtime,
            handler=decided.handler or handler,
            code=code,
            environment=user_env,
            layers=layers or None,
            # Tracing is configured below, with the permission where it can be acknowledged.
            tracing=lambda_.Tracing.DISABLED,
            **function_props,
        )
        children = self._children()
        if decided.layer and tracing_layer is None:
            self._add_tracing_layer(scope, code, children, facts, options, other_layers)
        self._apply(scope, decided, given_role, children)
        for finding in decided.findings:
            self._annotate(finding)
        if decided.layer_runtime and isinstance(code, lambda_.AssetCode):
            self._report_xray_sdk(code)

    def _children(self) -> _Children:
        """One call lists the function resource, the role the function made (the only
        role under it) and its code asset's staging."""
        found = _Children()
        for child in self.node.find_all():
            if isinstance(child, lambda_.CfnFunction) and found.cfn is None:
                found.cfn = child
            elif isinstance(child, iam.Role) and found.own_role is None:
                found.own_role = child
            elif isinstance(child, AssetStaging) and found.staging is None:
                found.staging = child
        return found

    def _add_tracing_layer(
        self,
        scope: Construct,
        code: lambda_.Code,
        children: _Children,
        facts: FunctionFacts,
        options: TracingOptions,
        other_layers: list[lambda_.ILayerVersion],
    ) -> None:
        """The stack's tracing layer with the parts the planner chose from the code."""
        assert children.cfn is not None
        shows = function_code_facts(code, children.staging, children.cfn, other_layers)
        parts, findings = layer_parts_of(facts, shows, options)
        self.add_layers(TracingLayer.of(scope, str(facts.runtime), parts))
        for finding in findings:
            self._annotate(finding)

    def _annotate(self, finding: Finding) -> None:
        if finding.level is Level.INFO:
            Annotations.of(self).add_info(finding.message)
        else:
            Annotations.of(self).add_warning_v2(f"lambda-xray:{finding.id}", finding.message)

    def _report_xray_sdk(self, code: lambda_.AssetCode) -> None:
        """Warn when the code asset holds or imports aws_xray_sdk (one jsii call: its path)."""
        found = xray_sdk_in_tree(Path(code.path))
        if found is not None:
            self._annotate(_xray_sdk_finding(f"code asset: {found}"))

    def _apply(
        self,
        scope: Construct,
        decided: Plan,
        given_role: iam.IRole | None,
        children: _Children,
    ) -> None:
        """Tracing mode, X-Ray permission and managed policies: the plan's parts after creation."""
        if decided.tracing is None and not decided.managed_policies:
            return
        cfn, own_role = children.cfn, children.own_role
        assert cfn is not None
        if decided.tracing is not None:
            cfn.tracing_config = lambda_.CfnFunction.TracingConfigProperty(mode=decided.tracing)
        if not decided.grant_xray_write and not decided.managed_policies:
            return
        # A role passed in is the function's role; reading it back costs a call.
        role = given_role if given_role is not None else own_role or self.role
        if decided.managed_policies and role is not None:
            attach_aws_managed_policies(role, decided.managed_policies)
        if not decided.grant_xray_write:
            return
        # The role this function created for itself cannot hold an X-Ray policy yet.
        fresh = given_role is None and own_role is not None
        stack_scope = scope if fresh else None  # the function's stack is its own role's
        if role is None or not grant_xray_write(role, cfn, fresh=fresh, stack_scope=stack_scope):
            Annotations.of(self).add_warning_v2(
                "lambda-xray:ImmutableRole",
                "lambda-xray: the function's role accepts no new policy (imported or "
                "immutable), so the X-Ray write permission was not added. Add "
                "xray:PutTraceSegments and xray:PutTelemetryRecords on '*' to that role, "
                "or Lambda rejects Active tracing.",
            )
