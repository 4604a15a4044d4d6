"""Specs of the Lambda arguments: the handler grammar, runtimes, layers, environment.

Shared by ``TracedFunction`` and the ``XRayTracing`` aspect (see ``_inputs``
for how entry points use specs).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from typing import Any

from ._specs import (
    BOOL,
    CONSTRUCT,
    TEXT,
    Failure,
    Spec,
    enum_member,
    instance,
    interface,
    mapping_of,
    not_a,
    one_of,
    optional,
    sequence_of,
    text,
)

__all__ = ["handler_problem", "lambda_handler", "lambda_specs"]


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
    from ._plan_model import LayerParts

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
        "layer_parts": optional(
            one_of(
                enum_member(LayerParts),
                sequence_of(
                    text(non_empty=True, example="'databases'"),
                    example="['databases']",
                    any_collection=True,
                ),
            )
        ),
        "selectors": optional(
            sequence_of(
                one_of(CONSTRUCT, text(non_empty=True, example="'*/Legacy*'")),
                example="[legacy_fn, '*/Legacy*']",
                any_collection=True,
            )
        ),
    }
