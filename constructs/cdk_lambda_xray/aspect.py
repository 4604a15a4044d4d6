"""``XRayTracing``: an aspect that traces every Lambda function of an app.

It visits each ``AWS::Lambda::Function`` resource: L2 ``Function`` and
``SingletonFunction``, functions other libraries create, plain ``CfnFunction``
and raw ``CfnResource`` ones such as CDK's S3 ``BucketNotificationsHandler``.
Every function it visits ends up traced or carries an annotation that says
why not.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Sequence
from typing import Any

import aws_cdk as cdk
import jsii
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import IConstruct

from . import _contract, _inputs
from ._apply import FunctionTarget, attach_aws_managed_policies, role_of, same_construct
from ._callers import trace_callers
from ._code_facts import resource_code_facts
from ._instrument import is_instrumented, mark_instrumented, stack_of, tracing_mode
from ._options import ContextMissing
from ._permissions import grant_xray_write
from ._plan import (
    UNKNOWN,
    CodeFacts,
    FunctionFacts,
    LayerParts,
    Plan,
    TraceFormat,
    TracingOptions,
    layer_supports_runtime,
    options_findings,
    plan,
    tracing_decision,
    xray_sdk_finding,
)
from ._reflect import resolved_properties
from ._xray_sdk import xray_sdk_evidence
from .errors import TracingConfigError
from .function import TracedFunction
from .layer import TracingLayer
from .validation import Problem, environment_problems, is_unresolved

__all__ = ["Selector", "XRayTracing", "trace_app"]

#: A construct (it and everything under it) or a path glob (``fnmatch``,
#: matched against the function's path and each of its ancestors' paths).
Selector = IConstruct | str

_FUNCTION_TYPE = "AWS::Lambda::Function"
_LAMBDA = _inputs.lambda_specs()


@jsii.implements(cdk.IAspect)
class XRayTracing:
    """Trace every Lambda function under the scope it is added to.

    Each function gets Active tracing (unless it already has a tracing mode),
    the X-Ray write permission on its role and ``AWS_XRAY_CONTEXT_MISSING``.
    The SNS topics, REST API stages and state machines that invoke a traced
    function get their own tracing too (``upstream=False`` to leave them).
    Python zip functions also get the stack's :class:`TracingLayer` and the
    handler redirect, exactly as :class:`TracedFunction` does. Variables a
    function already sets win over the aspect's options.

    Never a silent skip: a function that cannot get the layer (other runtime,
    container image, five layers already, another tracer's wrapper) is still
    traced by Lambda and carries a warning or info annotation saying why;
    settings that cannot work (a reserved variable, a bad daemon address) are
    errors. Functions made with :class:`TracedFunction`, or visited before, are
    left exactly as they are: applying the aspect twice changes nothing.

    Example::

        app = cdk.App()
        ...
        Aspects.of(app).add(XRayTracing(exclude=["*/Legacy*"]))
    """

    @_inputs.entry(
        "XRayTracing",
        include=_LAMBDA["selectors"],
        exclude=_LAMBDA["selectors"],
        context_missing=_LAMBDA["context_missing"],
        service_name=_LAMBDA["service_name"],
        capture_response=_LAMBDA["capture_response"],
        capture_error=_LAMBDA["capture_error"],
        tracing=_LAMBDA["tracing"],
        tracing_layer=_LAMBDA["tracing_layer"],
        upstream=_inputs.optional(_inputs.BOOL),
        trace_format=_inputs.optional(_inputs.enum_member(TraceFormat)),
        application_signals=_inputs.optional(_inputs.BOOL),
        layer_parts=_LAMBDA["layer_parts"],
    )
    def __init__(
        self,
        *,
        include: Iterable[Selector] | None = None,
        exclude: Iterable[Selector] | None = None,
        context_missing: ContextMissing | str = ContextMissing.LOG_ERROR,
        service_name: str | None = None,
        capture_response: bool = False,
        capture_error: bool = True,
        tracing: lambda_.Tracing = lambda_.Tracing.ACTIVE,
        tracing_layer: lambda_.ILayerVersion | None = None,
        upstream: bool = True,
        trace_format: TraceFormat | None = None,
        application_signals: bool = False,
        layer_parts: LayerParts | Sequence[str] | None = None,
    ) -> None:
        """Configure the aspect.

        :param include: only these functions. Default: every function.
        :param exclude: never these functions (wins over ``include``).
        :param context_missing: for functions that do not set
            ``AWS_XRAY_CONTEXT_MISSING`` themselves. Default: ``LOG_ERROR``.
        :param service_name: ``LAMBDA_XRAY_SERVICE_NAME`` for every Python
            function that does not set it. Default: each function's name.
        :param capture_response: Default: ``False``.
        :param capture_error: Default: ``True``.
        :param tracing: mode for functions that set none. Default: ``ACTIVE``.
        :param tracing_layer: Default: ``TracingLayer.of(function, runtime)``, one per
            Python version and stack.
        :param upstream: also turn on tracing for the SNS topics, REST API stages and
            state machines of a stack that invoke a function it traces. Default: ``True``.
        :param trace_format: ``LAMBDA_XRAY_FORMAT`` for every Python function that
            gets the layer and does not set it. Default: X-Ray segments.
        :param application_signals: give every function that gets the layer what
            Application Signals needs (see :class:`TracedFunction`). Default: ``False``.
        :param layer_parts: what each function's tracing layer holds besides its
            core. Default: ``LayerParts.AUTO``, what each function shows it needs
            (see :class:`TracedFunction`); ``LayerParts.ALL``; or a list of part
            names added to what ``AUTO`` chooses.
        :raises TracingConfigError: for an unknown ``context_missing`` value or
            layer part, or ``application_signals`` with
            ``trace_format=TraceFormat.XRAY``.
        """
        self.include: tuple[Selector, ...] | None = None if include is None else tuple(include)
        self.exclude: tuple[Selector, ...] = tuple(exclude or ())
        cm = (
            context_missing.value
            if isinstance(context_missing, ContextMissing)
            else context_missing
        )
        self._options = TracingOptions(
            explicit=False,
            tracing=tracing_mode(tracing),
            context_missing=cm,
            service_name=service_name,
            capture_response=capture_response,
            capture_error=capture_error,
            trace_format=trace_format,
            application_signals=application_signals,
            own_layer=tracing_layer is not None,
            layer_parts=(
                layer_parts
                if isinstance(layer_parts, LayerParts)
                else LayerParts.AUTO
                if layer_parts is None
                else tuple(layer_parts)
            ),
        )
        for finding in options_findings(self._options):
            raise TracingConfigError("XRayTracing", finding.problem, finding.fix)
        self.context_missing = ContextMissing(cm)
        self.service_name = service_name
        self.capture_response = capture_response
        self.capture_error = capture_error
        self.tracing = tracing
        self.tracing_layer = tracing_layer
        self.upstream = upstream
        self.trace_format = trace_format
        self.application_signals = application_signals
        self.layer_parts = self._options.layer_parts
        self._inline_announced = False

    # --- selection ---------------------------------------------------------------

    def selects(self, resource: IConstruct) -> bool:
        """True when ``resource`` passes the include and exclude lists."""
        if any(_matches(resource, s) for s in self.exclude):
            return False
        return self.include is None or any(_matches(resource, s) for s in self.include)

    # --- the visit ---------------------------------------------------------------------

    def visit(self, node: IConstruct) -> None:
        """Instrument ``node`` if it is a Lambda function resource (CDK calls this)."""
        if isinstance(node, cdk.Stack):
            if self.upstream:
                trace_callers(node, self._will_be_active)
            return
        if not isinstance(node, cdk.CfnResource) or node.cfn_resource_type != _FUNCTION_TYPE:
            return
        if _handled(node) or not self.selects(node):
            return
        mark_instrumented(node)
        props = resolved_properties(node)
        parent = node.node.scope
        l2 = (
            parent
            if isinstance(parent, lambda_.Function)
            and same_construct(parent.node.default_child, node)
            else None
        )
        target = FunctionTarget(node, props or {}, l2)
        if props is None:
            target.warn(
                "Unreadable",
                Problem(
                    "could not read this function's properties, so it was not instrumented",
                    "use TracedFunction for it, or report this with your aws-cdk-lib version",
                ),
            )
            return
        for problem in environment_problems(target.env):
            target.error(problem)
        decided = plan(self._facts(target), self._options)
        self._apply(target, decided)

    def _will_be_active(self, resource: cdk.CfnResource) -> bool:
        """Whether ``resource`` (a function) ends up with Active tracing after this aspect."""
        if not _handled(resource) and not self.selects(resource):
            return False
        config = (resolved_properties(resource) or {}).get("TracingConfig")
        return tracing_decision(_mode(config), self._options)[1]

    def _facts(self, target: FunctionTarget) -> FunctionFacts:
        """What the planner needs to know, read from the resource's resolved properties."""
        props = target.props
        code = props.get("Code")
        runtime = props.get("Runtime")
        handler = props.get("Handler")
        layers = props.get("Layers") or []
        image = props.get("PackageType") == "Image" or (
            isinstance(code, dict) and "ImageUri" in code
        )
        return FunctionFacts(
            runtime=UNKNOWN if is_unresolved(runtime) and not image else runtime,
            handler=UNKNOWN if is_unresolved(handler) else handler,
            environment=_known(target.env) if target.env_is_readable() else UNKNOWN,
            layer_count=len(layers) if isinstance(layers, list) else UNKNOWN,
            image=image,
            tracing=_mode(props.get("TracingConfig")),
            role_in_app=self._role_in_app(target),
            code=self._code(target, runtime, image),
        )

    def _code(self, target: FunctionTarget, runtime: object, image: bool) -> CodeFacts | None:
        """What the code shows, read only where the stack's tracing layer may be added."""
        if self.tracing_layer is not None or image or not isinstance(runtime, str):
            return None
        if not layer_supports_runtime(runtime):
            return None
        return resource_code_facts(target.resource, target.props)

    def _role_in_app(self, target: FunctionTarget) -> bool:
        """Whether the role can take AWS managed policies (asked only when some are wanted)."""
        if not self.application_signals:
            return True
        return isinstance(self._role(target), iam.Role)

    def _role(self, target: FunctionTarget) -> iam.IRole | None:
        if target.l2 is not None:
            return target.l2.role
        return role_of(target.resource, target.props.get("Role"))

    def _apply(self, target: FunctionTarget, decided: Plan) -> None:
        """Carry out the plan, in the order that renders the template as it always was."""
        if decided.tracing is not None:
            target.set_tracing(decided.tracing)
        if decided.grant_xray_write:
            self._grant(target)
        variables = list(decided.environment)
        if variables and variables[0][0] == _contract.ENV_CONTEXT_MISSING:
            target.set_env(*variables.pop(0))
        for finding in decided.findings:
            target.report(finding)
        if decided.layer_runtime:
            self._report_xray_sdk(target)
        if decided.layer:
            existing = target.props.get("Layers") or []
            runtime = str(target.props["Runtime"])
            target.add_layer(
                self.tracing_layer
                or TracingLayer.of(target.resource, runtime, decided.layer_parts),
                existing,
            )
        if decided.handler is not None:
            target.set_handler(decided.handler)
        for key, value in variables:
            target.set_env(key, value)
        if decided.managed_policies:
            role = self._role(target)
            if role is not None:
                attach_aws_managed_policies(role, decided.managed_policies)
        if decided.layer:
            self._announce_inline(target)

    def _grant(self, target: FunctionTarget) -> None:
        resource = target.resource
        if target.l2 is not None:
            role = target.l2.role
            granted = role is not None and grant_xray_write(role, resource)
        else:
            found = role_of(resource, target.props.get("Role"))
            granted = found is not None and grant_xray_write(found, resource, owned=True)
        if not granted:
            target.warn(
                "NoPermission",
                Problem(
                    "the X-Ray write permission could not be added: the function's role is "
                    "not a role of this app that accepts new policies",
                    "add xray:PutTraceSegments and xray:PutTelemetryRecords on '*' to the "
                    "function's role, or Lambda rejects Active tracing",
                ),
            )

    def _report_xray_sdk(self, target: FunctionTarget) -> None:
        evidence = xray_sdk_evidence(target.resource, target.props)
        if evidence is not None:
            target.report(xray_sdk_finding(evidence))

    def _announce_inline(self, target: FunctionTarget) -> None:
        code = target.props.get("Code")
        if isinstance(code, dict) and "ZipFile" in code and not self._inline_announced:
            # Once per app, on the stack: CDK's own handlers are inline, in nearly every app.
            self._inline_announced = True
            cdk.Annotations.of(stack_of(target.resource)).add_info(
                "lambda-xray: Python functions with inline code (CDK's own provisioning "
                "handlers among them) now run through the tracing wrapper (layer + handler "
                "redirect); exclude them from trace_app to keep them unwrapped"
            )


@_inputs.entry("trace_app", _inputs.at("scope"), scope=_inputs.CONSTRUCT)
def trace_app(scope: IConstruct, **options: Any) -> XRayTracing:
    """Add an :class:`XRayTracing` aspect to ``scope`` (usually the app) and return it.

    CDK does not carry aspects across ``Stage`` boundaries, so the aspect is
    also added to every stage under ``scope`` that exists now (CDK Pipelines
    stages, for example): call it after the app is built, or once per stage
    created later. ``options`` are :class:`XRayTracing`'s keyword arguments.
    """
    aspect = XRayTracing(**options)
    for construct in [scope, *_stages_under(scope)]:
        cdk.Aspects.of(construct).add(aspect, priority=cdk.AspectPriority.MUTATING)
    return aspect


def _stages_under(scope: IConstruct) -> list[IConstruct]:
    return [
        c
        for c in scope.node.find_all()
        if isinstance(c, cdk.Stage) and not same_construct(c, scope)
    ]


# --- helpers ------------------------------------------------------------------------------


def _mode(config: object) -> object:
    """A resource's ``TracingConfig.Mode``: ``None`` without a config, UNKNOWN if unreadable."""
    if config is None:
        return None
    mode = config.get("Mode") if isinstance(config, dict) else None
    return mode if isinstance(mode, str) else UNKNOWN


def _known(env: dict[str, Any]) -> dict[str, object]:
    """The function's variables with tokens and intrinsics as :data:`UNKNOWN`."""
    return {key: UNKNOWN if is_unresolved(value) else value for key, value in env.items()}


def _handled(resource: IConstruct) -> bool:
    """Visited before, or made by ``TracedFunction`` (which sets no marker: one call less each)."""
    return is_instrumented(resource) or isinstance(resource.node.scope, TracedFunction)


def _ancestors(node: IConstruct) -> Sequence[IConstruct]:
    return node.node.scopes


def _matches(resource: IConstruct, selector: Selector) -> bool:
    if isinstance(selector, str):
        pattern = selector.strip("/")
        return any(
            fnmatch.fnmatchcase(scope.node.path, pattern)
            for scope in _ancestors(resource)
            if scope.node.path
        )
    return any(same_construct(scope, selector) for scope in _ancestors(resource))
