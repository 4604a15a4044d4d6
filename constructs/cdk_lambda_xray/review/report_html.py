"""HTML report: one self-contained page (inline CSS and SVG, no scripts, no network)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import jinja2

from .diagram import layout, svg
from .presentation import hop_symbol, summary_line
from .review import Review
from .rules import Severity

_TEMPLATES = Path(__file__).parent / "templates"


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(_TEMPLATES),
        autoescape=jinja2.select_autoescape(["html", "j2"], default=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["hop"] = hop_symbol
    return env


def render(review: Review, fail_on: Severity | None = None) -> str:
    """The HTML report."""
    template = _environment().get_template("report.html.j2")
    return template.render(
        review=review,
        rows=review.rows,
        model=review.model,
        summary=summary_line(review, fail_on),
        failed=review.failed(fail_on),
        fail_on=fail_on.label if fail_on else "none",
        counts=review.counts(),
        diagram_svg=svg(layout(review.model), label="service map"),
    )
