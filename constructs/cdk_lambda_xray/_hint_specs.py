"""Specs from jsii's own declarations: a struct's props, a generated type hint.

The props ``TracedFunction`` passes on to CDK are checked the way CDK itself
declares them, so every prop CDK has (now or in a later release) is checked
the same way, with the kinds and combinators of ``_specs``.
"""

from __future__ import annotations

import difflib
import enum
import typing
from collections.abc import Collection, Iterable, Mapping
from typing import Any

from ._jsii_values import a_kind, cdk_name, shown
from ._specs import (
    ANY,
    BOOL,
    TEXT,
    Failure,
    Spec,
    an,
    enum_member,
    instance,
    interface,
    mapping_of,
    not_a,
    number,
    one_of,
    optional,
    sequence_of,
)

__all__ = ["from_hint", "props_of", "struct"]


def struct(cls: type) -> Spec:
    """A jsii struct: an instance, or a mapping of its keyword arguments (jsii converts it)."""
    name = cdk_name(cls)

    def test(value: object, args: Mapping[str, Any]) -> Failure | None:
        if isinstance(value, cls):
            return None
        if isinstance(value, Mapping):
            return props_of(cls).failure(value, args)
        return not_a(an(name), f"pass {name}(...)")

    return Spec(an(name), test)


_PROPS: dict[type, Spec] = {}


def props_of(struct_cls: type) -> Spec:
    """A mapping of ``struct_cls``'s keyword arguments, each checked by its type hint.

    Used for the ``aws_lambda.Function`` props ``TracedFunction`` passes on, so
    every prop CDK has (now or in a later release) is checked the same way.
    """
    known = _PROPS.get(struct_cls)
    if known is not None:
        return known
    name = cdk_name(struct_cls)
    specs: dict[str, Spec] = {}

    def field_specs() -> dict[str, Spec]:
        if not specs:
            hints = typing.get_type_hints(vars(struct_cls)["__init__"])
            specs.update({k: from_hint(h) for k, h in hints.items() if k != "return"})
        return specs

    def test(value: object, args: Mapping[str, Any]) -> Failure | None:
        if not isinstance(value, Mapping):
            return not_a(f"the props of {name}", f"pass {name} keyword arguments")
        fields = field_specs()
        for key, item in value.items():
            spec = fields.get(key) if isinstance(key, str) else None
            if spec is None:
                close = difflib.get_close_matches(str(key), list(fields), n=1)
                fix = f"did you mean {close[0]}=?" if close else f"use one of {name}'s props"
                return Failure(f"whose key {shown(key)} is not a prop of {name}", fix, False)
            found = spec.failure(item, args)
            if found is not None:
                detail = f"whose {key}={shown(item)} is {a_kind(item)}, {found.detail}"
                return Failure(detail, found.fix, type_error=False)
        for key, spec in fields.items():
            if not spec.optional and key not in value:
                return Failure(f"which lacks {key}, {spec.expected}", f"add {key}=...", False)
        return None

    known = _PROPS[struct_cls] = Spec(f"{name} props", test, fields=field_specs)
    return known


def from_hint(hint: Any) -> Spec:
    """A spec for a jsii-generated type hint (``Optional``, ``Union``, sequences, mappings)."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin is typing.Union:
        choices = [a for a in args if a is not type(None)]
        numeric = {int, float}
        if set(choices) == numeric:
            spec = number()
        elif len(choices) == 1:
            spec = from_hint(choices[0])
        else:
            spec = one_of(*(from_hint(c) for c in choices if not _is_plain_dict(c)))
        return optional(spec) if len(choices) < len(args) else spec
    if origin in (list, typing.Sequence, Collection, Iterable) or _is_abc(origin, "Sequence"):
        return sequence_of(from_hint(args[0]) if args else ANY)
    if origin in (dict, Mapping) or _is_abc(origin, "Mapping"):
        if not args:
            return mapping_of(ANY, ANY)
        return mapping_of(from_hint(args[0]), from_hint(args[1]))
    if hint is Any or hint is object or not isinstance(hint, type):
        return ANY
    if hint is bool:
        return BOOL
    if hint is str:
        return TEXT
    if hint in (int, float):
        return number(integral=hint is int)
    if "__jsii_struct_bases__" in hint.__dict__:
        return struct(hint)
    if issubclass(hint, enum.Enum):
        return enum_member(hint)
    if getattr(hint, "_is_protocol", False) and isinstance(hint.__dict__.get("__jsii_type__"), str):
        return interface(hint)
    return instance(hint, f"pass {an(cdk_name(hint))}")


def _is_plain_dict(hint: Any) -> bool:
    # jsii types a struct prop as ``Union[TheStruct, Dict[str, Any]]``: struct() covers both.
    return typing.get_origin(hint) is dict


def _is_abc(origin: Any, name: str) -> bool:
    return origin is not None and getattr(origin, "__name__", "") == name
