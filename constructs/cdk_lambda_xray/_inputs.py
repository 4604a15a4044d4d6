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
from collections.abc import Callable, Mapping
from typing import Any, ParamSpec, TypeVar

from jsii.errors import JavaScriptError, JSIIError

from ._hint_specs import props_of, struct
from ._jsii_values import a_kind, construct_path, shown
from ._lambda_inputs import handler_problem, lambda_handler, lambda_specs
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
    number,
    one_of,
    optional,
    sequence_of,
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
