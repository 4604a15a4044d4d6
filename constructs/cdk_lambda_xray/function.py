"""``TracedFunction``: a ``lambda_.Function`` traced with AWS X-Ray."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from aws_cdk import Annotations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from . import _contract, _inputs
from ._env_values import same_value
from ._instrument import (
    is_image_runtime,
    is_python_runtime,
    runtime_name,
    tracing_mode,
)
from ._options import ContextMissing
from ._permissions import grant_xray_write
from ._tracers import XRAY_SDK_FIX, xray_sdk_in_tree
from .errors import TracingConfigError
from .layer import MIN_PYTHON_MINOR, TracingLayer, layer_supports_runtime
from .validation import (
    Problem,
    environment_problems,
    is_unresolved,
    layer_count_problem,
    parse_context_missing,
    wrapper_conflict,
)

__all__ = ["ContextMissing", "TracedFunction"]


_LAMBDA = _inputs.lambda_specs()


def _bool(value: bool) -> str:
    return "true" if value else "false"


class _Settings:
    """The environment a traced function gets, merged with the user's own."""

    def __init__(self, scope: Construct, id: str, env: Mapping[str, str]) -> None:
        self.scope = scope
        self.id = id
        self.env: dict[str, str] = dict(env)

    @property
    def path(self) -> str:
        """The function's construct path (read only for an error message)."""
        parent = self.scope.node.path
        return f"{parent}/{self.id}" if parent else self.id

    def fail(self, problem: Problem) -> TracingConfigError:
        return TracingConfigError(self.path, problem.problem, problem.fix)

    def merge(self, key: str, value: str | None, default: str | None, prop: str) -> None:
        """Set ``key``: the prop if given, else the user's variable, else the default.

        Giving both the prop and a different variable is an error: there is no
        good guess which one the user meant.
        """
        user = self.env.get(key)
        if value is None:
            if user is None and default is not None:
                self.env[key] = default
            return
        if user is not None and not is_unresolved(user):
            if same_value(key, user, value):
                return  # the same value as the layer reads it: the user's spelling stays
            raise self.fail(
                Problem(
                    f"{prop}={value!r} conflicts with environment variable {key}={user!r}",
                    f"set only one of them (the {prop} prop or {key})",
                )
            )
        self.env[key] = value


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

    :raises TracingConfigError: for settings that cannot work (reserved
        variables, unknown context-missing value, malformed daemon address,
        more than 5 layers, another tracer's wrapper, a layer on a container
        image or a non-Python runtime).
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
        :param function_props: every other ``aws_lambda.Function`` prop.
        """
        # Every property read and method call on a CDK object is a round trip to
        # the jsii runtime: this constructor makes as few as it can (see
        # docs/constructs.md, "Synth cost").
        settings = _Settings(scope, id, environment or {})
        layers = list(layers or [])
        runtime_id = runtime_name(runtime)
        python = is_python_runtime(runtime)
        image = is_image_runtime(runtime)
        # Python older than the layer supports: traced by Lambda only, unless the
        # user brings a layer of their own.
        old_python = python and not layer_supports_runtime(runtime_id)
        layered = python and (tracing_layer is not None or not old_python)

        for problem in environment_problems(settings.env):
            raise settings.fail(problem)
        if tracing_layer is not None and not python:
            kind = "a container image" if image else f"the {runtime_id} runtime"
            raise settings.fail(
                Problem(
                    f"tracing_layer was given for {kind}, which cannot use the Python "
                    "tracing layer",
                    "drop tracing_layer; for a container image, install lambda_xray in the image "
                    f"and set its CMD to {_contract.WRAPPER_HANDLER}",
                )
            )

        settings.merge(
            _contract.ENV_CONTEXT_MISSING,
            self._context_missing_value(settings, context_missing),
            _contract.DEFAULT_CONTEXT_MISSING,
            "context_missing",
        )
        if layered:
            handler = self._redirect(settings, handler, function_props)
            too_many = layer_count_problem(len(layers))
            if too_many:
                raise settings.fail(too_many)
            layers.append(tracing_layer or TracingLayer.of(scope, runtime_id))
            settings.merge(_contract.ENV_SERVICE_NAME, service_name, None, "service_name")
            settings.merge(
                _contract.ENV_CAPTURE_RESPONSE,
                None if capture_response is None else _bool(capture_response),
                "false",
                "capture_response",
            )
            settings.merge(
                _contract.ENV_CAPTURE_ERROR,
                None if capture_error is None else _bool(capture_error),
                "true",
                "capture_error",
            )

        super().__init__(
            scope,
            id,
            runtime=runtime,
            handler=handler,
            code=code,
            environment=settings.env,
            layers=layers or None,
            # Tracing is configured below, with the permission where it can be acknowledged.
            tracing=lambda_.Tracing.DISABLED,
            **function_props,
        )
        # One call lists the function resource and, when the function made its
        # own role, that role's resource (the only role under the function).
        cfn: lambda_.CfnFunction | None = None
        own_role: iam.CfnRole | None = None
        for child in self.node.find_all():
            if isinstance(child, lambda_.CfnFunction) and cfn is None:
                cfn = child
            elif isinstance(child, iam.CfnRole) and own_role is None:
                own_role = child
        assert cfn is not None
        given_role = function_props.get("role")
        self._configure_tracing(
            scope, cfn, tracing, given_role, own_role if given_role is None else None
        )
        if old_python and not layered:
            Annotations.of(self).add_warning_v2(
                "lambda-xray:UnsupportedPython",
                f"lambda-xray: the tracing layer needs python3.{MIN_PYTHON_MINOR} or newer; "
                f"{runtime_id} is traced by Lambda without it. Fix: move to a supported "
                "runtime (the old one is deprecated by Lambda)",
            )
        elif layered and isinstance(code, lambda_.AssetCode):
            self._report_xray_sdk(code)
        elif not python:
            what = "a container image" if image else f"the {runtime_id} runtime"
            ignored = [
                name
                for name, value in (
                    ("service_name", service_name),
                    ("capture_response", capture_response),
                    ("capture_error", capture_error),
                )
                if value is not None
            ]
            note = f" ({', '.join(ignored)} apply only with the layer)" if ignored else ""
            Annotations.of(self).add_info(
                f"lambda-xray: {what} is traced by Lambda (tracing, permission, context "
                "missing) without the Python tracing layer: no subsegments for downstream "
                f"calls{note}"
            )

    def _report_xray_sdk(self, code: lambda_.AssetCode) -> None:
        """Warn when the code asset holds or imports aws_xray_sdk (one jsii call: its path)."""
        found = xray_sdk_in_tree(Path(code.path))
        if found is not None:
            Annotations.of(self).add_warning_v2(
                "lambda-xray:XRaySdk",
                f"lambda-xray: the function uses aws_xray_sdk (code asset: {found}); it gets the "
                "tracing layer too, and each call is recorded once (aws_xray_sdk keeps the calls "
                f"of the libraries it patched). Fix: {XRAY_SDK_FIX}",
            )

    @staticmethod
    def _context_missing_value(
        settings: _Settings, value: ContextMissing | str | None
    ) -> str | None:
        if value is None or (isinstance(value, str) and is_unresolved(value)):
            return value
        try:
            return parse_context_missing(value).value
        except ValueError as err:
            raise settings.fail(
                Problem(
                    f"context_missing={value!r} is not a context-missing strategy",
                    f"use ContextMissing.LOG_ERROR, RUNTIME_ERROR or IGNORE_ERROR ({err})",
                )
            ) from None

    @staticmethod
    def _redirect(settings: _Settings, handler: str, props: Mapping[str, Any]) -> str:
        """Point ``Handler`` at the wrapper; the original goes to ``LAMBDA_XRAY_HANDLER``."""
        conflict = wrapper_conflict(settings.env, handler)
        if conflict is None and props.get("adot_instrumentation") is not None:
            conflict = Problem(
                "adot_instrumentation is set: ADOT already wraps this function",
                "use one tracer: drop adot_instrumentation, or use a plain lambda_.Function",
            )
        if conflict:
            raise settings.fail(conflict)
        key = _contract.ENV_HANDLER
        if handler == _contract.WRAPPER_HANDLER:
            if key not in settings.env:
                raise settings.fail(
                    Problem(
                        f"handler is {handler!r} but {key} does not name your handler",
                        "pass your own handler (e.g. 'app.handler'); the construct redirects it",
                    )
                )
            return handler
        if key in settings.env:
            raise settings.fail(
                Problem(
                    f"environment variable {key}={settings.env[key]!r} is set by hand",
                    f"remove {key}: TracedFunction sets it from handler={handler!r}",
                )
            )
        settings.env[key] = handler
        return _contract.WRAPPER_HANDLER

    def _configure_tracing(
        self,
        scope: Construct,
        cfn: lambda_.CfnFunction,
        tracing: lambda_.Tracing,
        given_role: iam.IRole | None,
        own_role: iam.CfnRole | None,
    ) -> None:
        mode = tracing_mode(tracing)
        if mode is None:
            return
        cfn.tracing_config = lambda_.CfnFunction.TracingConfigProperty(mode=mode)
        if mode != "Active":
            return
        # A role passed in is the function's role; reading it back costs a call.
        role = given_role if given_role is not None else self.role
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
