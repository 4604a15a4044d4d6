"""Resolve the CloudFormation intrinsics needed to link resources together.

A property value becomes a :class:`Value`: a sequence of literal text, pointers
to resources (:class:`Target`), pseudo parameters (``AWS::Region``) and
:class:`Unknown` parts for what cannot be known from the templates alone (a
stack parameter, ``Fn::If``, an import with no matching export). Nothing is
guessed: an ``Unknown`` carries the expression and the reason.

Handled: ``Ref``, ``Fn::GetAtt``, ``Fn::Join``, ``Fn::Sub`` (both forms),
``Fn::Select`` over a literal list, ``Fn::Split``/``Fn::Base64`` passthrough,
``Fn::ImportValue`` (through the exports of every stack in the assembly) and
nested-stack parameters and outputs (through the parent stack).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final

_MAX_DEPTH: Final = 32
#: work one resolve() may do: intrinsics visited, and characters of text produced
#: (references fan out through parameters, outputs and exports; this bounds them)
_MAX_STEPS: Final = 20_000
_MAX_CHARS: Final = 1_000_000
_INDEX = re.compile(r"[0-9]{1,9}")
_SUB_VAR = re.compile(r"\$\{([^}]*)\}")


@dataclass(frozen=True, slots=True, order=True)
class ResourceId:
    """One resource in the assembly: stack key and logical id."""

    stack: str
    logical_id: str

    def __str__(self) -> str:
        return f"{self.stack}/{self.logical_id}"


@dataclass(frozen=True, slots=True)
class Target:
    """A pointer to a resource (``Ref`` when ``attribute`` is None, else ``GetAtt``)."""

    resource: ResourceId
    attribute: str | None = None

    def text(self) -> str:
        suffix = f".{self.attribute}" if self.attribute else ""
        return "${" + self.resource.logical_id + suffix + "}"


@dataclass(frozen=True, slots=True)
class Pseudo:
    """A pseudo parameter such as ``AWS::Region``: known at deploy time only."""

    name: str

    def text(self) -> str:
        return "${" + self.name + "}"


@dataclass(frozen=True, slots=True)
class Unknown:
    """A part that cannot be resolved from the templates, with the reason."""

    expression: str
    reason: str

    def text(self) -> str:
        return f"<{self.expression}>"


Part = str | Target | Pseudo | Unknown


@dataclass(frozen=True, slots=True)
class Value:
    """A resolved property value (see the module docstring)."""

    parts: tuple[Part, ...]

    @property
    def literal(self) -> str | None:
        """The text when every part is literal, else None."""
        if all(isinstance(p, str) for p in self.parts):
            return "".join(p for p in self.parts if isinstance(p, str))
        return None

    @property
    def targets(self) -> tuple[Target, ...]:
        return tuple(p for p in self.parts if isinstance(p, Target))

    @property
    def unknowns(self) -> tuple[Unknown, ...]:
        return tuple(p for p in self.parts if isinstance(p, Unknown))

    def text(self) -> str:
        """Readable form: literals verbatim, the rest as ``${...}``."""
        return "".join(p if isinstance(p, str) else p.text() for p in self.parts)

    @property
    def concrete(self) -> str | None:
        """Text for name matching when only pseudo parameters are unknown, else None.

        Pseudo parameters become ``<Region>``-style tokens (no colons), so ARN
        fields still split on ``:``.
        """
        if any(isinstance(p, Target | Unknown) for p in self.parts):
            return None
        return "".join(
            p if isinstance(p, str) else f"<{p.name.rsplit(':', 1)[-1]}>"
            for p in self.parts
            if isinstance(p, str | Pseudo)
        )

    def only_target(self) -> Target | None:
        """The target when the value is exactly one ``Ref``/``GetAtt``."""
        if len(self.parts) == 1 and isinstance(self.parts[0], Target):
            return self.parts[0]
        return None


def literal(text: str) -> Value:
    return Value((text,))


def unknown(expr: Any, reason: str) -> Value:
    return Value((Unknown(_compact(expr), reason),))


_ENCODER: Final = json.JSONEncoder(separators=(",", ":"), default=str)


def _compact(expr: Any) -> str:
    """At most 160 characters of ``expr`` as JSON (encoded lazily: big values cost little)."""
    text = ""
    for chunk in _ENCODER.iterencode(expr):
        text += chunk
        if len(text) > 160:
            return text[:157] + "..."
    return text


@dataclass(slots=True)
class StackScope:
    """What the resolver needs to know about one template."""

    key: str
    resources: Mapping[str, Any]
    parameters: Mapping[str, Any]
    outputs: Mapping[str, Any]
    #: (parent stack key, logical id of the AWS::CloudFormation::Stack) for nested stacks
    parent: tuple[str, str] | None = None
    #: logical id of a nested AWS::CloudFormation::Stack resource -> nested stack key
    children: dict[str, str] | None = None


class Resolver:
    """Resolves values in the context of any stack of one assembly."""

    def __init__(self, scopes: Mapping[str, StackScope]) -> None:
        self._scopes = scopes
        self._exports: dict[str, tuple[str, Any]] | None = None
        self._steps = 0
        self._chars = 0

    # -- public --------------------------------------------------------------
    def resolve(self, stack: str, expr: Any) -> Value:
        """Resolve ``expr`` found in stack ``stack`` (within a bounded amount of work)."""
        saved = self._steps, self._chars
        self._steps, self._chars = _MAX_STEPS, _MAX_CHARS
        try:
            return Value(tuple(_merge(self._parts(stack, expr, 0))))
        finally:
            self._steps, self._chars = saved

    # -- internals -----------------------------------------------------------
    def _parts(self, stack: str, expr: Any, depth: int) -> Iterator[Part]:
        self._steps -= 1
        if depth > _MAX_DEPTH:
            yield Unknown(_compact(expr), "reference chain too deep (cycle?)")
            return
        if self._steps < 0 or self._chars < 0:
            yield Unknown(_compact(expr), "expression too large to resolve")
            return
        if isinstance(expr, str):
            self._chars -= len(expr)
            yield expr
            return
        if isinstance(expr, bool):
            yield "true" if expr else "false"
            return
        if isinstance(expr, int | float):
            yield str(expr)
            return
        if isinstance(expr, dict) and len(expr) == 1:
            ((fn, arg),) = expr.items()
            handler = _INTRINSICS.get(fn)
            if handler is not None:
                yield from handler(self, stack, arg, depth + 1)
                return
            if fn.startswith("Fn::") or fn == "Condition":
                yield Unknown(_compact(expr), f"{fn} is not evaluated by the review")
                return
        yield Unknown(_compact(expr), "not a string expression")

    def _ref(self, stack: str, arg: Any, depth: int) -> Iterator[Part]:
        if not isinstance(arg, str):
            yield Unknown(_compact({"Ref": arg}), "Ref needs a name")
            return
        if arg.startswith("AWS::"):
            yield Pseudo(arg)
            return
        scope = self._scopes.get(stack)
        if scope is None:
            yield Unknown(_compact({"Ref": arg}), f"unknown stack {stack!r}")
            return
        if arg in scope.resources:
            yield Target(ResourceId(stack, arg))
            return
        if arg in scope.parameters:
            yield from self._parameter(scope, arg, depth)
            return
        yield Unknown(_compact({"Ref": arg}), f"{arg!r} is neither a resource nor a parameter")

    def _parameter(self, scope: StackScope, name: str, depth: int) -> Iterator[Part]:
        if scope.parent is not None:
            parent_key, stack_resource = scope.parent
            parent = self._scopes[parent_key]
            props = _object((_object(parent.resources.get(stack_resource))).get("Properties"))
            passed = _object(props.get("Parameters")).get(name)
            if passed is not None:
                yield from self._parts(parent_key, passed, depth)
                return
        default = _object(scope.parameters.get(name)).get("Default")
        reason = f"stack parameter {name!r} is set at deploy time"
        if default is not None:
            reason += f" (default {default!r})"
        yield Unknown(_compact({"Ref": name}), reason)

    def _get_att(self, stack: str, arg: Any, depth: int) -> Iterator[Part]:
        if isinstance(arg, str):
            arg = arg.split(".", 1)
        if not (isinstance(arg, list) and len(arg) == 2 and isinstance(arg[0], str)):
            yield Unknown(_compact({"Fn::GetAtt": arg}), "malformed Fn::GetAtt")
            return
        logical_id, attribute = arg
        if not isinstance(attribute, str):
            yield Unknown(_compact({"Fn::GetAtt": arg}), "Fn::GetAtt attribute is not literal")
            return
        scope = self._scopes.get(stack)
        if scope is None or logical_id not in scope.resources:
            yield Unknown(_compact({"Fn::GetAtt": arg}), f"no resource {logical_id!r}")
            return
        child = (scope.children or {}).get(logical_id)
        if child is not None and attribute.startswith("Outputs."):
            output = self._scopes[child].outputs.get(attribute[len("Outputs.") :])
            if isinstance(output, dict):
                yield from self._parts(child, output.get("Value"), depth)
                return
        yield Target(ResourceId(stack, logical_id), attribute)

    def _join(self, stack: str, arg: Any, depth: int) -> Iterator[Part]:
        if not (isinstance(arg, list) and len(arg) == 2 and isinstance(arg[0], str)):
            yield Unknown(_compact({"Fn::Join": arg}), "malformed Fn::Join")
            return
        sep, items = arg
        if not isinstance(items, list):
            yield Unknown(_compact({"Fn::Join": arg}), "Fn::Join over a computed list")
            return
        for index, item in enumerate(items):
            if index and sep:
                self._chars -= len(sep)
                yield sep
            yield from self._parts(stack, item, depth)

    def _sub(self, stack: str, arg: Any, depth: int) -> Iterator[Part]:
        variables: Mapping[str, Any] = {}
        if isinstance(arg, list) and len(arg) == 2 and isinstance(arg[1], dict):
            arg, variables = arg
        if not isinstance(arg, str):
            yield Unknown(_compact({"Fn::Sub": arg}), "malformed Fn::Sub")
            return
        pos = 0
        self._chars -= len(arg)
        for match in _SUB_VAR.finditer(arg):
            yield arg[pos : match.start()]
            pos = match.end()
            name = match.group(1)
            if name.startswith("!"):
                yield "${" + name[1:] + "}"
            elif name in variables:
                yield from self._parts(stack, variables[name], depth)
            elif "." in name and not name.startswith("AWS::"):
                yield from self._get_att(stack, name.split(".", 1), depth)
            else:
                yield from self._ref(stack, name, depth)
        yield arg[pos:]

    def _select(self, stack: str, arg: Any, depth: int) -> Iterator[Part]:
        if isinstance(arg, list) and len(arg) == 2 and isinstance(arg[1], list):
            index = _index(arg[0])
            if index is not None and index < len(arg[1]):
                yield from self._parts(stack, arg[1][index], depth)
                return
        yield Unknown(_compact({"Fn::Select": arg}), "Fn::Select over a computed list")

    def _base64(self, stack: str, arg: Any, depth: int) -> Iterator[Part]:
        yield from self._parts(stack, arg, depth)

    def _import(self, stack: str, arg: Any, depth: int) -> Iterator[Part]:
        name = Value(tuple(_merge(self._parts(stack, arg, depth)))).literal
        if name is None:
            yield Unknown(_compact({"Fn::ImportValue": arg}), "export name is not literal")
            return
        found = self._export_table().get(name)
        if found is None:
            yield Unknown(
                _compact({"Fn::ImportValue": arg}),
                f"no stack in this assembly exports {name!r}",
            )
            return
        yield from self._parts(found[0], found[1], depth)

    def _export_table(self) -> dict[str, tuple[str, Any]]:
        if self._exports is None:
            table: dict[str, tuple[str, Any]] = {}
            for key, scope in self._scopes.items():
                for output in scope.outputs.values():
                    export = _object(output).get("Export")
                    if not isinstance(export, dict):
                        continue
                    name = self.resolve(key, export.get("Name")).literal
                    if name is not None:
                        table[name] = (key, output.get("Value"))
            self._exports = table
        return self._exports


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _index(value: Any) -> int | None:
    """A ``Fn::Select`` index: a non-negative int or its decimal digits, else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, str) and _INDEX.fullmatch(value):
        return int(value)
    return None


def _merge(parts: Iterator[Part]) -> Iterator[Part]:
    """Join adjacent literal parts and drop empty ones."""
    buffer: list[str] = []
    for part in parts:
        if isinstance(part, str):
            buffer.append(part)
            continue
        if buffer:
            text = "".join(buffer)
            buffer.clear()
            if text:
                yield text
        yield part
    text = "".join(buffer)
    if text:
        yield text


_INTRINSICS: Final = {
    "Ref": Resolver._ref,
    "Fn::GetAtt": Resolver._get_att,
    "Fn::Join": Resolver._join,
    "Fn::Sub": Resolver._sub,
    "Fn::Select": Resolver._select,
    "Fn::Base64": Resolver._base64,
    "Fn::ImportValue": Resolver._import,
}
