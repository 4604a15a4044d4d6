"""Synth's judgement of the environment values the layer reads, by the layer's own grammar.

``TracedFunction``, the ``XRayTracing`` aspect and the review judge a value with
:func:`value_problem`, which is ``_grammar.synth_problem`` from the layer's own
``_grammar.py`` (loaded through ``_shared``, never copied): what synth refuses
and why is written once, in ``_grammar.SYNTH_STRICTER``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the same file, under the name mypy finds it by
    from lambda_xray import _grammar as grammar
else:
    from ._shared import _grammar as grammar

__all__ = ["grammar", "judged_variables", "same_value", "value_problem", "value_problems"]


def judged_variables() -> tuple[str, ...]:
    """Every variable whose value synth judges: the ones the layer reads, in the grammar's order."""
    return tuple(grammar.GRAMMAR)


def value_problem(name: str, value: str) -> tuple[str, str] | None:
    """``(problem, fix)`` when synth refuses the plain string ``value`` for ``name``."""
    return grammar.synth_problem(name, value)


def value_problems(env: Mapping[str, object]) -> Iterator[tuple[str, str]]:
    """``(problem, fix)`` for each refused value in ``env``; only plain strings are judged.

    Leave tokens out of ``env``: their values are known only at deploy time.
    """
    for name in grammar.GRAMMAR:
        value = env.get(name)
        if isinstance(value, str):
            found = grammar.synth_problem(name, value)
            if found is not None:
                yield found


def same_value(name: str, first: str, second: str) -> bool:
    """Whether the layer reads ``first`` and ``second`` as the same value (``yes`` and ``true``)."""
    grammar_row = grammar.GRAMMAR.get(name)
    if grammar_row is None or first == second:
        return first == second
    parsed = grammar_row[0](first)
    return parsed is not None and parsed == grammar_row[0](second)
