"""Validated access to the JSON of an assembly: the right type at every known key, or an error.

The readers of ``manifest.json``, asset manifests, stack metadata and templates
take every value through these functions, so a wrong type anywhere
(``"metadata": [1, 2]``, ``"Resources": {"F": "x"}``, ``"Properties": 5``)
becomes one :class:`~.files.AssemblyError` naming the file, the key and what was
expected, never an ``AttributeError`` three modules later. Optional keys may be
absent or ``null``; present, they must have the documented type.
"""

from __future__ import annotations

from typing import Any

from .files import AssemblyError, kind_of

__all__ = ["as_object", "at", "list_at", "object_at", "object_values", "string_at"]


def at(where: str, key: str) -> str:
    """``where`` extended by ``key``: (``f.json:``, ``a``) -> ``f.json: a``."""
    return f"{where} {key}" if where.endswith(":") else f"{where}.{key}"


def _fail(where: str, expected: str, value: object) -> AssemblyError:
    return AssemblyError(f"{where} must be {expected}, not {kind_of(value)}")


def as_object(value: Any, where: str) -> dict[str, Any]:
    """``value`` itself, which must be a JSON object."""
    if not isinstance(value, dict):
        raise _fail(where, "an object", value)
    return value


def object_at(parent: dict[str, Any], key: str, where: str) -> dict[str, Any]:
    """``parent[key]``: an object, or ``{}`` when absent/null."""
    value = parent.get(key)
    return {} if value is None else as_object(value, at(where, key))


def list_at(parent: dict[str, Any], key: str, where: str) -> list[Any]:
    """``parent[key]``: a list, or ``[]`` when absent/null."""
    value = parent.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise _fail(at(where, key), "a list", value)
    return value


def string_at(
    parent: dict[str, Any], key: str, where: str, *, required: bool = False
) -> str | None:
    """``parent[key]``: a string, or None when absent/null (an error if ``required``)."""
    value = parent.get(key)
    if value is None:
        if required:
            raise AssemblyError(f"{at(where, key)} is missing")
        return None
    if not isinstance(value, str):
        raise _fail(at(where, key), "a string", value)
    return value


def object_values(parent: dict[str, Any], key: str, where: str) -> dict[str, dict[str, Any]]:
    """``parent[key]``: an object whose values are all objects (``{}`` when absent)."""
    mapping = object_at(parent, key, where)
    for name, value in mapping.items():
        as_object(value, at(at(where, key), name))
    return mapping
