"""The arguments every public entry point accepts, declared once and checked first.

Each public constructor, function and method of ``cdk_lambda_xray`` carries one
:func:`entry` decorator that names what each parameter accepts (a
:class:`~cdk_lambda_xray._specs.Spec`). Before the body runs, the decorator
binds the call, checks every argument and raises
:class:`~cdk_lambda_xray.errors.TracingConfigError` naming the construct, the
parameter, the value given and the fix. A decorator rather than a call in the
body, because a misspelt or missing keyword argument fails in Python before
any body runs.

Rules that hold for every entry point:

* ``None`` for an optional parameter means its default (``tracing=None`` is
  ``Tracing.ACTIVE`` on ``TracedFunction``); ``None`` for a required one is an
  error.
* Unresolved tokens are never judged as values: a token string or number that
  fails a value check is accepted as it is.
* The happy path costs no call to the jsii runtime: types are tested in Python
  (jsii interfaces through the interface names a proxy class declares).
* A value ``aws-cdk-lib`` itself refuses while the entry point runs (its own
  validation errors) comes out as ``TracingConfigError`` too, with CDK's reason.
"""

from __future__ import annotations

import difflib
import functools
import inspect
import re
import sys
from collections.abc import Callable, Mapping
from typing import Any, ParamSpec, TypeVar

from jsii.errors import JavaScriptError, JSIIError

from ._jsii_values import a_kind, construct_path, shown
from ._specs import (
    ANY,
    BOOL,
    CONSTRUCT,
    CONSTRUCT_ID,
    NAME,
    TEXT,
    Failure,
    Spec,
    enum_member,
    instance,
    integer,
    interface,
    mapping_of,
    not_a,
    number,
    one_of,
    optional,
    props_of,
    sequence_of,
    struct,
    text,
)
from .errors import TracingConfigError

__all__ = [
    "ANY",
    "BOOL",
    "CONSTRUCT",
    "CONSTRUCT_ID",
    "NAME",
    "TEXT",
    "Spec",
    "Where",
    "at",
    "entry",
    "enum_member",
    "handler_problem",
    "instance",
    "integer",
    "interface",
    "lambda_handler",
    "lambda_specs",
    "mapping_of",
    "number",
    "of_self",
    "one_of",
    "optional",
    "props_of",
    "scope_and_id",
    "sequence_of",
    "specs_of",
    "struct",
    "text",
]

P = ParamSpec("P")
R = TypeVar("R")

#: Where an error happened: the construct path, computed from the bound
#: arguments only when there is an error (reading a path is a jsii call).
Where = Callable[[Mapping[str, Any]], str | None]


# --- handler strings ----------------------------------------------------------------------

#: CloudFormation's limit and pattern for ``AWS::Lambda::Function.Handler``.
_HANDLER_MAX = 128


def handler_problem(handler: str, *, python: bool) -> str | None:
    """What is wrong with a handler string, or ``None``.

    Every runtime: non-empty, no whitespace, at most 128 characters. Python:
    ``module.function`` where the module may be a path (``pkg/mod.func``), the
    rule Lambda's Python runtime and the tracing wrapper apply when they load it.
    """
    if not handler:
        return "which is empty"
    if any(ch.isspace() for ch in handler):
        return "which contains whitespace"
    if len(handler) > _HANDLER_MAX:
        return f"which is longer than Lambda's {_HANDLER_MAX} characters"
    if not python:
        return None
    module, dot, function = handler.rpartition(".")
    if not dot or not function:
        return "which has no function part (a Python handler is 'module.function')"
    if not module:
        return "which has no module part (a Python handler is 'module.function')"
    if not function.isidentifier():
        return f"whose function part {function!r} is not a Python name"
    if any(part == "" for part in re.split(r"[./]", module)):
        return f"whose module part {module!r} has an empty name in it"
    if module.split(".")[0].split("/")[0] in sys.builtin_module_names:
        return f"whose module {module!r} is a built-in Python module, which Lambda refuses"
    return None


def _handler_example(handler: str) -> str:
    stem = re.sub(r"[^0-9A-Za-z_/]", "", handler.rpartition(".")[0] or handler) or "app"
    return f"{stem}.handler"


def lambda_handler(runtime_param: str = "runtime") -> Spec:
    """A handler string, judged by the grammar of the runtime in ``runtime_param``."""

    def test(value: object, args: Mapping[str, Any]) -> Failure | None:
        if not isinstance(value, str):
            return not_a("a string", "pass the handler as a string, e.g. 'app.handler'")
        from ._instrument import is_python_runtime

        python = is_python_runtime(args[runtime_param])
        found = handler_problem(value, python=python)
        if found is None:
            return None
        example = _handler_example(value) if python else "index.handler"
        shape = "'module.function'" if python else "the runtime's handler format"
        return Failure(found, f"write it as {shape}, e.g. handler={example!r}", False)

    return Spec("a handler string", test, token_ok=True)


# --- where ---------------------------------------------------------------------------------


def scope_and_id(scope: str = "scope", id: str = "id") -> Where:
    """Where a new construct will be: ``<scope path>/<id>``, or the id alone."""

    def where(args: Mapping[str, Any]) -> str | None:
        parent = construct_path(args.get(scope))
        child = args.get(id)
        child = child if isinstance(child, str) and child else None
        if parent and child:
            return child if parent == "App" else f"{parent}/{child}"
        return child or (parent if parent != "App" else None)

    return where


def at(param: str) -> Where:
    """Where the construct passed as ``param`` is."""
    return lambda args: construct_path(args.get(param))


def of_self(attribute: str) -> Where:
    """Where the construct in ``self.<attribute>`` is (for methods)."""
    return lambda args: construct_path(getattr(args.get("self"), attribute, None))


def _where(name: str, where: Where | None, values: Mapping[str, Any]) -> str:
    try:
        found = where(values) if where is not None else None
    except Exception:  # an error message must never fail on its way out
        found = None
    return found or name


# --- the decorator --------------------------------------------------------------------------


def entry(
    name: str, where: Where | None = None, **specs: Spec
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Check the arguments of a public entry point before it runs.

    :param name: the entry point as users write it (``"TracedFunction"``,
        ``"from_s3"``).
    :param where: the construct to name in errors (default: the entry point).
    :param specs: one spec per parameter to check, in checking order. The spec
        of a ``**kwargs`` parameter made with ``props_of`` checks each keyword
        as a parameter of its own.
    """

    def decorate(func: Callable[P, R]) -> Callable[P, R]:
        signature = inspect.signature(func)
        params = signature.parameters
        unknown = set(specs) - set(params)
        assert not unknown, f"{name}: specs for unknown parameters {sorted(unknown)}"
        defaults = {k: p.default for k, p in params.items() if p.default not in (p.empty, None)}
        missing: dict[str, Any] = {
            k: {} if p.kind is p.VAR_KEYWORD else None if p.default is p.empty else p.default
            for k, p in params.items()
        }
        var_keyword = {k for k, p in params.items() if p.kind is p.VAR_KEYWORD}
        named = [k for k in params if k not in var_keyword]

        @functools.wraps(func)
        def checked(*args: P.args, **kwargs: P.kwargs) -> R:
            bound = _bind(signature, name, where, args, kwargs)
            values = bound.arguments
            for key, default in defaults.items():
                if key in values and values[key] is None:
                    values[key] = default  # None means "the default"
            for param, spec in specs.items():
                value = values.get(param, missing[param])
                if param in var_keyword and spec.fields is not None:
                    _check_keywords(name, where, values, value, spec.fields(), named)
                    continue
                found = _judge(spec, value, values)
                if found is not None:
                    raise _error(name, where, values, param, value, found)
            try:
                return func(*bound.args, **bound.kwargs)
            except (RuntimeError, JSIIError) as err:
                if not _from_cdk(err):
                    raise
                lines = str(err).strip().splitlines() or [type(err).__name__]
                raise TracingConfigError(
                    _where(name, where, values),
                    f"aws-cdk-lib refused {name}(): {lines[0].rstrip('.')}",
                    "change the argument the message names",
                ) from err

        _ENTRY_SPECS[checked] = dict(specs)
        return checked

    return decorate


#: The specs of every decorated entry point (read by ``specs_of``).
_ENTRY_SPECS: dict[Callable[..., Any], dict[str, Spec]] = {}


def specs_of(entry_point: Callable[..., Any]) -> Mapping[str, Spec]:
    """The parameter specs of a decorated entry point (a function, method or classmethod)."""
    return _ENTRY_SPECS[getattr(entry_point, "__func__", entry_point)]


def _judge(spec: Spec, value: object, values: Mapping[str, Any]) -> Failure | None:
    """``spec.failure(value)``; a value that breaks while being looked at is refused too."""
    try:
        return spec.failure(value, values)
    except Exception as exc:  # a hostile __iter__, __len__, items() ...
        return Failure(
            f"which could not be looked at ({type(exc).__name__}: {shown(exc)})",
            f"pass {spec.expected}",
        )


def _from_cdk(err: BaseException) -> bool:
    """Raised by the jsii runtime for CDK (a validation error, or a value it cannot take)."""
    return isinstance(err, JSIIError) or isinstance(err.__cause__, JavaScriptError)


def _check_keywords(
    name: str,
    where: Where | None,
    values: Mapping[str, Any],
    given: Mapping[str, Any],
    fields: Mapping[str, Spec],
    params: list[str],
) -> None:
    for key, value in given.items():
        spec = fields.get(key)
        if spec is None:
            raise TracingConfigError(
                _where(name, where, values), *_unknown_argument(name, key, [*params, *fields])
            )
        found = _judge(spec, value, values)
        if found is not None:
            raise _error(name, where, values, key, value, found)


def _unknown_argument(name: str, key: str, known: list[str]) -> tuple[str, str]:
    public = list(dict.fromkeys(k for k in known if k not in ("self", "cls")))
    close = difflib.get_close_matches(key, public, n=1)
    if close:
        fix = f"did you mean {close[0]}=?"
    elif len(public) <= 12:
        fix = f"use one of: {', '.join(public)}"
    else:
        fix = f"remove it; none of the {len(public)} arguments {name}() takes is close to it"
    return f"{name}() got an unknown argument {key!r}", fix


def _bind(
    signature: inspect.Signature,
    name: str,
    where: Where | None,
    args: tuple[Any, ...],
    kwargs: Mapping[str, Any],
) -> inspect.BoundArguments:
    try:
        return signature.bind(*args, **kwargs)
    except TypeError as err:
        params = signature.parameters
        extra = [k for k in kwargs if k not in params]
        if extra:
            problem, fix = _unknown_argument(name, extra[0], list(params))
        else:
            required = [
                k
                for k, p in params.items()
                if p.default is p.empty
                and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
                and k not in ("self", "cls")
            ]
            problem = f"{name}() cannot take these arguments ({err})"
            fix = f"pass {', '.join(required)} (its required arguments), the rest by keyword"
        try:
            partial = signature.bind_partial(*args, **{k: kwargs[k] for k in kwargs if k in params})
            known: Mapping[str, Any] = partial.arguments
        except TypeError:
            known = {}
        raise TracingConfigError(_where(name, where, known), problem, fix) from None


def _error(
    name: str,
    where: Where | None,
    values: Mapping[str, Any],
    param: str,
    value: object,
    found: Failure,
) -> TracingConfigError:
    if value is None:
        problem = f"{name}() got None for {param}, which {found.detail}"
    elif found.type_error:
        problem = f"{name}() got {a_kind(value)} for {param} ({shown(value)}), {found.detail}"
    else:
        problem = f"{name}() got {param}={shown(value)}, {found.detail}"
    return TracingConfigError(_where(name, where, values), problem, found.fix)


# --- specs several entry points share -------------------------------------------------------


def _runtime_named(value: object) -> str | None:
    """``"python3.12"`` -> ``"pass lambda_.Runtime.PYTHON_3_12"`` (only read on an error)."""
    from aws_cdk import aws_lambda as lambda_

    if not isinstance(value, str):
        return None
    name = re.sub(r"(?<=[A-Za-z])(?=[0-9])", "_", value.strip()).upper()
    name = re.sub(r"[^A-Z0-9]+", "_", name)
    try:
        found = isinstance(getattr(lambda_.Runtime, name, None), lambda_.Runtime)
    except Exception:
        found = False
    return f"pass runtime=lambda_.Runtime.{name}" if found else None


_ENV_KEY = re.compile(r"[A-Za-z][A-Za-z0-9_]+")


def _env_key(value: object, _: Mapping[str, Any]) -> Failure | None:
    from ._contract import RESERVED_ENV_VARS

    if not isinstance(value, str):
        return not_a("a string", "use string keys, e.g. {'TABLE_NAME': 'orders'}")
    if value in RESERVED_ENV_VARS or _ENV_KEY.fullmatch(value):
        return None  # reserved names get their own error from the environment check
    return Failure(
        "which is not a Lambda variable name (a letter, then letters, digits or '_')",
        "rename it, e.g. 'MY_SETTING'",
        False,
    )


def lambda_specs() -> dict[str, Spec]:
    """The specs of the Lambda-related parameters ``TracedFunction`` and the aspect share."""
    from aws_cdk import aws_lambda as lambda_

    from ._options import ContextMissing

    layer = interface(
        lambda_.ILayerVersion,
        "pass a lambda_.LayerVersion (or one imported with from_layer_version_arn)",
    )
    return {
        "runtime": instance(
            lambda_.Runtime,
            "pass a lambda_.Runtime such as lambda_.Runtime.PYTHON_3_12",
            suggest=_runtime_named,
        ),
        "code": instance(
            lambda_.Code, "pass lambda_.Code.from_asset('src') or another lambda_.Code"
        ),
        "handler": lambda_handler(),
        "tracing": enum_member(lambda_.Tracing),
        "tracing_layer": optional(layer),
        "layers": optional(sequence_of(layer, example="[my_layer]", any_collection=True)),
        "environment": optional(mapping_of(Spec("a variable name", _env_key, token_ok=True), TEXT)),
        "context_missing": optional(one_of(enum_member(ContextMissing), TEXT)),
        "service_name": optional(text(non_empty=True, example="'orders'")),
        "capture_response": optional(BOOL),
        "capture_error": optional(BOOL),
        "selectors": optional(
            sequence_of(
                one_of(CONSTRUCT, text(non_empty=True, example="'*/Legacy*'")),
                example="[legacy_fn, '*/Legacy*']",
                any_collection=True,
            )
        ),
    }
