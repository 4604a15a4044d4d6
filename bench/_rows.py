"""One row of ``make bench``'s table, the shape ``bench/run.py`` prints (see its docstring)."""

from __future__ import annotations

from typing import Any


def row(
    bench: str,
    metric: str,
    value: float,
    unit: str,
    goal: str | None = None,
    passed: bool | None = None,
    detail: str = "",
) -> dict[str, Any]:
    """``value`` rounded to 3 decimals; ``passed`` is None for rows without a goal."""
    return {
        "bench": bench,
        "metric": metric,
        "value": round(value, 3),
        "unit": unit,
        "goal": goal,
        "passed": passed,
        "detail": detail,
    }
