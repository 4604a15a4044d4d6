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
from dataclasses import dataclass
from typing import Any

import aws_cdk as cdk
import jsii
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct, IConstruct

from . import _contract, _inputs
from ._callers import trace_callers
from ._instrument import is_instrumented, mark_instrumented, stack_of, tracing_mode
from ._options import ContextMissing
from ._permissions import grant_xray_write
from ._reflect import resolved_properties
from ._tracers import XRAY_SDK_FIX
from ._xray_sdk import xray_sdk_evidence
from .errors import TracingConfigError
from .function import TracedFunction
from .layer import MIN_PYTHON_MINOR, TracingLayer, layer_supports_runtime
from .validation import (
    MAX_LAYERS,
    Problem,
    environment_problems,
    is_unresolved,
    layer_count_problem,
    parse_context_missing,
    wrapper_conflict,
)

__all__ = ["Selector", "XRayTracing", "trace_app"]

#: A construct (it and everything under it) or a path glob (``fnmatch``,
#: matched against the function's path and each of its ancestors' paths).
Selector = IConstruct | str

_FUNCTION_TYPE = "AWS::Lambda::Function"
_LAMBDA = _inputs.lambda_specs()


def _bool(value: bool) -> str:
    return "true" if value else "false"


@dataclass
class _Target:
    """One function resource being instrumented, and how to change it."""

    resource: cdk.CfnResource
    props: dict[str, Any]
    l2: lambda_.Function | None

    @property
    def owner(self) -> IConstruct:
        return self.l2 if self.l2 is not None else self.resource

    @property
    def env(self) -> dict[str, Any]:
        variables = (self.props.get("Environment") or {}).get("Variables") or {}
        return dict(variables) if isinstance(variables, dict) else {}

    def env_is_readable(self) -> bool:
        environment = self.props.get("Environment")
        if environment is None:
            return True
        variables = environment.get("Variables") if isinstance(environment, dict) else None
        return variables is None or isinstance(variables, dict)

    def info(self, message: str) -> None:
        cdk.Annotations.of(self.owner).add_info(f"lambda-xray: {message}")

    def warn(self, id: str, problem: Problem) -> None:
        cdk.Annotations.of(self.owner).add_warning_v2(
            f"lambda-xray:{id}", f"lambda-xray: {problem.problem}. Fix: {problem.fix}"
        )

    def error(self, problem: Problem) -> None:
        cdk.Annotations.of(self.owner).add_error(
            f"lambda-xray: {problem.problem}. Fix: {problem.fix}"
        )

    def set_env(self, key: str, value: str) -> None:
        if self.l2 is not None:
            self.l2.add_environment(key, value)
        else:
            self.resource.add_property_override(f"Environment.Variables.{key}", value)

    def set_tracing(self, mode: str) -> None:
        # Set the L1 property where there is one: rule checkers (cdk-nag) read it,
        # not raw overrides.
        if isinstance(self.resource, lambda_.CfnFunction):
            self.resource.tracing_config = lambda_.CfnFunction.TracingConfigProperty(mode=mode)
        else:
            self.resource.add_property_override("TracingConfig.Mode", mode)

    def set_handler(self, handler: str) -> None:
        if isinstance(self.resource, lambda_.CfnFunction):
            self.resource.handler = handler
        else:
            self.resource.add_property_override("Handler", handler)

    def add_layer(self, layer: lambda_.ILayerVersion, existing: list[Any]) -> None:
        if self.l2 is not None:
            self.l2.add_layers(layer)
        else:
            self.resource.add_property_override("Layers", [*existing, layer.layer_version_arn])


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
        :raises TracingConfigError: for an unknown ``context_missing`` value.
        """
        self.include: tuple[Selector, ...] | None = None if include is None else tuple(include)
        self.exclude: tuple[Selector, ...] = tuple(exclude or ())
        try:
            self.context_missing = parse_context_missing(context_missing)
        except ValueError as err:
            raise TracingConfigError(
                "XRayTracing",
                str(err),
                "use ContextMissing.LOG_ERROR, RUNTIME_ERROR or IGNORE_ERROR",
            ) from None
        self.service_name = service_name
        self.capture_response = capture_response
        self.capture_error = capture_error
        self.tracing = tracing
        self.tracing_layer = tracing_layer
        self.upstream = upstream
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
            if isinstance(parent, lambda_.Function) and _same(parent.node.default_child, node)
            else None
        )
        target = _Target(node, props or {}, l2)
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
        self._trace(target)
        self._instrument_code(target)

    def _will_be_active(self, resource: cdk.CfnResource) -> bool:
        """Whether ``resource`` (a function) ends up with Active tracing after this aspect."""
        if not _handled(resource) and not self.selects(resource):
            return False
        config = (resolved_properties(resource) or {}).get("TracingConfig")
        if config is None:
            return tracing_mode(self.tracing) == "Active"
        return isinstance(config, dict) and config.get("Mode") == "Active"

    def _trace(self, target: _Target) -> None:
        config = target.props.get("TracingConfig")
        mode: Any = config.get("Mode") if isinstance(config, dict) else None
        if config is None:
            mode = tracing_mode(self.tracing)
            if mode is not None:
                target.set_tracing(mode)
        if mode == "Active":
            self._grant(target)
        if target.env_is_readable() and _contract.ENV_CONTEXT_MISSING not in target.env:
            target.set_env(_contract.ENV_CONTEXT_MISSING, self.context_missing.value)

    def _grant(self, target: _Target) -> None:
        resource = target.resource
        if target.l2 is not None:
            role = target.l2.role
            granted = role is not None and grant_xray_write(role, resource)
        else:
            found = _role_of(resource, target.props.get("Role"))
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

    def _instrument_code(self, target: _Target) -> None:
        props = target.props
        runtime = props.get("Runtime")
        code = props.get("Code") if isinstance(props.get("Code"), dict) else {}
        if props.get("PackageType") == "Image" or "ImageUri" in (code or {}):
            target.info(
                "container image function: traced by Lambda without the tracing layer "
                "(layers do not apply to images); install lambda_xray in the image and set "
                f"CMD to {_contract.WRAPPER_HANDLER} for subsegments"
            )
            return
        if is_unresolved(runtime):
            target.warn(
                "UnknownRuntime",
                Problem(
                    "the runtime is not known at synth time (a token), so the tracing layer "
                    "was not added",
                    "use a literal runtime, or TracedFunction for this function",
                ),
            )
            return
        if str(runtime).startswith("python") and not layer_supports_runtime(str(runtime)):
            target.warn(
                "UnsupportedPython",
                Problem(
                    f"the tracing layer needs python3.{MIN_PYTHON_MINOR} or newer; {runtime} "
                    "is traced by Lambda without it",
                    "move the function to a supported Python runtime",
                ),
            )
            return
        if not str(runtime).startswith("python"):
            target.info(
                f"{runtime} function: traced by Lambda (tracing, permission, context missing) "
                "without the Python tracing layer"
            )
            return
        self._report_xray_sdk(target)
        self._add_layer_and_redirect(target)

    def _report_xray_sdk(self, target: _Target) -> None:
        evidence = xray_sdk_evidence(target.resource, target.props)
        if evidence is not None:
            target.warn(
                "XRaySdk",
                Problem(
                    f"the function uses aws_xray_sdk ({evidence}); it gets the tracing layer "
                    "too, and each call is recorded once (aws_xray_sdk keeps the calls of the "
                    "libraries it patched)",
                    XRAY_SDK_FIX,
                ),
            )

    def _add_layer_and_redirect(self, target: _Target) -> None:
        handler = target.props.get("Handler")
        env = target.env
        if handler == _contract.WRAPPER_HANDLER:
            return  # redirected by hand or by an earlier tool: nothing to add
        if _contract.ENV_HANDLER in env:
            target.warn(
                "HandlerVariable",
                Problem(
                    f"{_contract.ENV_HANDLER} is set but the handler is {handler!r}, not the "
                    "tracing wrapper, so the redirect was not added",
                    f"remove {_contract.ENV_HANDLER}; the aspect sets it when it redirects",
                ),
            )
            return
        conflict = wrapper_conflict(env, handler)
        if conflict is not None:
            target.warn("WrapperConflict", conflict)
            return
        if not target.env_is_readable() or is_unresolved(handler):
            target.warn(
                "Unresolved",
                Problem(
                    "the handler or the environment is a token, so the handler redirect "
                    "could not be added",
                    "use literal values, or TracedFunction for this function",
                ),
            )
            return
        existing = target.props.get("Layers") or []
        if not isinstance(existing, list):
            target.warn(
                "UnknownLayers",
                Problem(
                    "the layer list is a token, so the tracing layer could not be added "
                    f"safely (Lambda allows {MAX_LAYERS})",
                    "use a literal list of layers, or TracedFunction for this function",
                ),
            )
            return
        too_many = layer_count_problem(len(existing))
        if too_many is not None:
            target.warn("TooManyLayers", too_many)
            return
        layer = self.tracing_layer or TracingLayer.of(target.resource, str(target.props["Runtime"]))
        target.add_layer(layer, existing)
        target.set_handler(_contract.WRAPPER_HANDLER)
        assert isinstance(handler, str)
        additions = {
            _contract.ENV_HANDLER: handler,
            _contract.ENV_SERVICE_NAME: self.service_name,
            _contract.ENV_CAPTURE_RESPONSE: _bool(self.capture_response),
            _contract.ENV_CAPTURE_ERROR: _bool(self.capture_error),
        }
        for key, value in additions.items():
            if value is not None and key not in env:
                target.set_env(key, value)
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
    return [c for c in scope.node.find_all() if isinstance(c, cdk.Stage) and not _same(c, scope)]


# --- helpers ------------------------------------------------------------------------------


def _handled(resource: IConstruct) -> bool:
    """Visited before, or made by ``TracedFunction`` (which sets no marker: one call less each)."""
    return is_instrumented(resource) or isinstance(resource.node.scope, TracedFunction)


def _same(a: IConstruct | None, b: IConstruct | None) -> bool:
    """Same construct? jsii may hand out two Python proxies for one object: compare paths."""
    return a is not None and b is not None and (a is b or a.node.path == b.node.path)


def _parent(resource: cdk.CfnResource) -> Construct:
    scope = resource.node.scope
    return scope if isinstance(scope, Construct) else resource


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
    return any(_same(scope, selector) for scope in _ancestors(resource))


def _role_of(resource: cdk.CfnResource, role_arn: object) -> iam.IRole | None:
    """The role a raw function's ``Role`` points at, if it is a role of this stack."""
    if not (isinstance(role_arn, dict) and list(role_arn) == ["Fn::GetAtt"]):
        return None
    logical_id, attribute = ([*role_arn["Fn::GetAtt"], "", ""])[:2]
    if attribute != "Arn":
        return None
    stack = cdk.Stack.of(resource)
    for candidate in stack.node.find_all():
        if (
            isinstance(candidate, cdk.CfnResource)
            and candidate.cfn_resource_type == "AWS::IAM::Role"
            and _same(cdk.Stack.of(candidate), stack)
            and stack.resolve(candidate.logical_id) == logical_id
        ):
            parent = candidate.node.scope
            if isinstance(parent, iam.Role) and _same(parent.node.default_child, candidate):
                return parent
            return iam.Role.from_role_name(
                _parent(resource),
                f"{resource.node.id}LambdaXrayRoleRef",
                candidate.ref,
            )
    return None
