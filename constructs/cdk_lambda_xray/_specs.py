"""What a parameter accepts: :class:`Spec` and the small language that builds them.

A spec says what it expects in words and tests a value in Python. Specs
compose (``optional``, ``one_of``, ``sequence_of``, ``mapping_of``); the
kinds here (text, numbers, enum members, instances, jsii interfaces,
constructs) are the words they are made of. ``_hint_specs`` builds specs from
jsii's own declarations (a struct's props, a generated type hint).
"""

from __future__ import annotations

import enum
import math
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

from ._jsii_values import a_kind, cdk_name, implements, is_jsii_object, is_token, shown

__all__ = [
    "ANY",
    "BOOL",
    "CONSTRUCT",
    "CONSTRUCT_ID",
    "NAME",
    "TEXT",
    "Failure",
    "Spec",
    "an",
    "enum_member",
    "instance",
    "integer",
    "interface",
    "mapping_of",
    "not_a",
    "number",
    "one_of",
    "optional",
    "sequence_of",
    "text",
]


# --- specs ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Failure:
    """Why a value was refused: ``detail`` ends "got ..., which ...", ``fix`` says what to do."""

    detail: str
    fix: str
    type_error: bool = True


Test = Callable[[object, Mapping[str, Any]], Failure | None]


@dataclass(frozen=True)
class Spec:
    """What one parameter accepts.

    ``expected`` is said in words ("a lambda_.Runtime"); ``test`` returns ``None``
    for an accepted value, else a :class:`Failure`. ``token_ok``: an encoded
    token string or number of the right type that fails a value check is
    accepted (its value is known only at deploy time); a token is never taken
    for a value of another type.
    """

    expected: str
    test: Test
    token_ok: bool = False
    optional: bool = False
    #: For a ``**kwargs`` parameter: the spec of each keyword it accepts.
    fields: Callable[[], Mapping[str, Spec]] | None = None

    def failure(self, value: object, args: Mapping[str, Any]) -> Failure | None:
        """``None`` when ``value`` is accepted."""
        if value is None:
            if self.optional:
                return None
            missing = self.test(None, args)
            fix = missing.fix if missing is not None else f"pass {self.expected}"
            return Failure(f"is required: {self.expected}", fix)
        found = self.test(value, args)
        if found is not None and not found.type_error and self.token_ok and is_token(value):
            return None
        return found


def optional(spec: Spec) -> Spec:
    """``spec`` or ``None``."""
    return Spec(spec.expected, spec.test, spec.token_ok, optional=True, fields=spec.fields)


def not_a(expected: str, fix: str) -> Failure:
    return Failure(f"which is not {expected}", fix)


def an(name: str) -> str:
    """``name`` with its article: "a lambda_.Runtime", "an s3.IBucket", "an int"."""
    module = name.partition(".")[0] if "." in name else ""
    spelt = module in {"s3", "sns", "sqs", "iam", "ec2", "kms", "sfn", "ecr"}
    vowel = name[:1].lower() in "aeiou"
    return f"{'an' if spelt or vowel else 'a'} {name}"


def instance(cls: type, fix: str, *, suggest: Callable[[object], str | None] | None = None) -> Spec:
    """An instance of ``cls``; ``suggest`` may turn a near miss into a precise fix."""
    expected = an(cdk_name(cls))

    def test(value: object, _: Mapping[str, Any]) -> Failure | None:
        if isinstance(value, cls):
            return None
        hint = suggest(value) if suggest is not None else None
        return not_a(expected, hint or fix)

    return Spec(expected, test)


def interface(iface: type, fix: str | None = None) -> Spec:
    """An object implementing the jsii interface ``iface`` (defined here or imported)."""
    jsii_type: str = iface.__dict__["__jsii_type__"]
    expected = an(cdk_name(iface))
    advice = fix or f"pass {expected} (a construct of that kind, or one imported with from_*)"

    def test(value: object, _: Mapping[str, Any]) -> Failure | None:
        return None if implements(value, jsii_type) else not_a(expected, advice)

    return Spec(expected, test)


def _normalised(text: str) -> str:
    return re.sub(r"[^0-9A-Za-z]", "", text).upper()


def enum_member(cls: type[enum.Enum], shown_as: str | None = None) -> Spec:
    """A member of ``cls``; a string that names one gets that member as the fix."""
    name = shown_as or cdk_name(cls)
    first = next(iter(cls.__members__))

    def test(value: object, _: Mapping[str, Any]) -> Failure | None:
        if isinstance(value, cls):
            return None
        meant = _member_named(cls, value) if isinstance(value, str) else None
        fix = f"use {name}.{meant}" if meant else f"use {an(name)} member such as {name}.{first}"
        return not_a(f"{an(name)} member", fix)

    return Spec(f"{an(name)} member", test)


def _member_named(cls: type[enum.Enum], text: str) -> str | None:
    # "Active", "active", "PASS_THROUGH", and AWS spellings such as "s3:ObjectCreated:*"
    wanted = {_normalised(text), _normalised(text.partition(":")[2])} - {""}
    for member_name, member in cls.__members__.items():
        if wanted & {_normalised(member_name), _normalised(str(member.value))}:
            return member_name
    return None


def text(
    *,
    non_empty: bool = False,
    example: str = "'name'",
    pattern: re.Pattern[str] | None = None,
    pattern_says: str = "",
) -> Spec:
    """A ``str``; optionally non-empty and matching ``pattern`` (tokens pass the value checks)."""

    def test(value: object, _: Mapping[str, Any]) -> Failure | None:
        if not isinstance(value, str):
            return not_a("a string", f"pass a string such as {example}")
        if non_empty and not value:
            return Failure("which is empty", f"pass a non-empty string such as {example}", False)
        if pattern is not None and not pattern.fullmatch(value):
            return Failure(f"which is not {pattern_says}", f"pass {pattern_says}", False)
        return None

    return Spec("a non-empty string" if non_empty else "a string", test, token_ok=True)


def _boolean(value: object, _: Mapping[str, Any]) -> Failure | None:
    return None if isinstance(value, bool) else not_a("True or False", "pass True or False")


def number(*, minimum: float | None = None, integral: bool = False, example: str = "10") -> Spec:
    """An ``int`` (or, unless ``integral``, a ``float``) of at least ``minimum``; never a bool."""
    expected = "a whole number" if integral else "a number"
    if minimum is not None:
        expected += f" of at least {minimum:g}"

    def test(value: object, _: Mapping[str, Any]) -> Failure | None:
        if isinstance(value, float) and is_token(value):
            return None  # a number token (a float) stands for any number, whole or not
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or (integral and not isinstance(value, int))
        ):
            return not_a(expected, f"pass {expected}, such as {example}")
        if not math.isfinite(value):
            return Failure("which is not finite", f"pass {expected}, such as {example}", False)
        if minimum is not None and value < minimum:
            return Failure(f"which is below {minimum:g}", f"pass {expected}", False)
        return None

    return Spec(expected, test, token_ok=True)


def integer(*, minimum: int | None = None, example: str = "10") -> Spec:
    """A whole number (``int``, not ``bool``) of at least ``minimum``."""
    return number(minimum=minimum, integral=True, example=example)


def sequence_of(item: Spec, *, example: str = "[...]", any_collection: bool = False) -> Spec:
    """A list whose every item passes ``item``; a string is never a list here.

    jsii cannot pass a tuple or a set to CDK, so only a ``list`` is accepted,
    unless ``any_collection`` (the entry point makes its own list of it).
    """
    expected = f"a list (each item {item.expected})"

    def test(value: object, args: Mapping[str, Any]) -> Failure | None:
        if isinstance(value, str | bytes | Mapping) or not isinstance(value, Collection):
            return not_a(expected, f"pass a list, e.g. {example}")
        if not any_collection and not isinstance(value, list):
            return Failure(
                f"which is not a list ({a_kind(value)}: jsii cannot pass it to CDK)",
                f"pass a list, e.g. {example}",
            )
        for index, element in enumerate(value):
            found = item.failure(element, args)
            if found is not None:
                detail = (
                    f"whose item {index} is {a_kind(element)} ({shown(element)}), {found.detail}"
                )
                return Failure(detail, found.fix, type_error=False)
        return None

    return Spec(expected, test, token_ok=True)


def mapping_of(key: Spec, value: Spec, *, example: str = "{'KEY': 'value'}") -> Spec:
    """A mapping whose keys pass ``key`` and values pass ``value``."""
    expected = f"a mapping ({key.expected} keys, {value.expected} values)"

    def test(given: object, args: Mapping[str, Any]) -> Failure | None:
        if not isinstance(given, Mapping):
            return not_a(expected, f"pass a dict, e.g. {example}")
        for k, v in given.items():
            found = key.failure(k, args)
            if found is not None:
                detail = f"whose key {shown(k)} is {a_kind(k)}, {found.detail}"
                return Failure(detail, found.fix, type_error=False)
            found = value.failure(v, args)
            if found is not None:
                detail = f"whose value for {shown(k)} is {a_kind(v)} ({shown(v)}), {found.detail}"
                return Failure(detail, found.fix, type_error=False)
        return None

    return Spec(expected, test)


def one_of(*choices: Spec) -> Spec:
    """Any of ``choices``.

    When none accepts the value, a choice of the right type (or shape) that
    found a wrong value inside it explains the failure; otherwise the message
    lists the choices, with the first choice's fix.
    """
    if len(choices) == 1:
        return choices[0]
    expected = " or ".join(c.expected for c in choices)

    def test(value: object, args: Mapping[str, Any]) -> Failure | None:
        failures = []
        for choice in choices:
            found = choice.failure(value, args)
            if found is None:
                return None
            failures.append(found)
        value_errors = [f for f in failures if not f.type_error]
        if value_errors:
            return value_errors[0]  # right type or shape, wrong value: say what is wrong in it
        return Failure(f"which is not {expected}", failures[0].fix)

    return Spec(expected, test, token_ok=any(c.token_ok for c in choices))


_MAX_DEPTH = 32


def _jsii_value(value: object, args: Mapping[str, Any], depth: int = 0) -> Failure | None:
    """What jsii can pass where CDK takes ``any``: JSON-like data or a CDK object."""
    if value is None or isinstance(value, str | bool | int) or is_jsii_object(value):
        return None
    if isinstance(value, float):
        return None if math.isfinite(value) else Failure("which is not finite", "pass a number")
    if depth > _MAX_DEPTH and isinstance(value, list | Mapping):
        return Failure("which is nested too deeply (or contains itself)", "pass plain data")
    if isinstance(value, list):
        found = (_jsii_value(v, args, depth + 1) for v in value)
        return next((f for f in found if f is not None), None)
    if isinstance(value, Mapping):
        if not all(isinstance(k, str) for k in value):
            return Failure("whose keys are not all strings", "use string keys")
        found = (_jsii_value(v, args, depth + 1) for v in value.values())
        return next((f for f in found if f is not None), None)
    return Failure(
        f"which holds {a_kind(value)} ({shown(value)}) that jsii cannot pass to CDK",
        "use str, int, float, bool, None, lists, dicts with string keys, or CDK objects",
    )


#: Anything jsii can pass where CDK declares ``any`` (JSON-like data, CDK objects).
ANY = Spec("any value", _jsii_value)
BOOL = Spec("True or False", _boolean)
TEXT = text()
NAME = text(non_empty=True)


def _construct_test(value: object, _: Mapping[str, Any]) -> Failure | None:
    if implements(value, "constructs.IConstruct"):
        return None
    return not_a("a construct", "pass a construct such as the app, a stack or a construct in it")


#: Any construct (an app, a stack, a construct inside one).
CONSTRUCT = Spec("a construct", _construct_test)

#: A construct id: a non-empty string without '/' (CDK uses '/' to build paths).
CONSTRUCT_ID = text(
    non_empty=True,
    example="'Checkout'",
    pattern=re.compile(r"[^/]+", re.DOTALL),
    pattern_says="a construct id without '/'",
)
