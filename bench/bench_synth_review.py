"""Synth cost of TracedFunction against a plain Function, and review time for 1/50/200 functions.

Run by ``bench/run.py`` (``make bench``) through :func:`run`, or on its own:
``.venv/bin/python bench/bench_synth_review.py``.

- Synth: one process, warmed up first (the first synth in a process pays for
  starting jsii), then apps with ``N`` plain ``Function``, ``N`` functions wired
  by hand the way a user would without this library (``Tracing.ACTIVE``, which
  makes CDK add the X-Ray statement to the role, the stack's ``TracingLayer``,
  the handler redirect and the layer's variables) and ``N`` ``TracedFunction``
  (inline code, same props) are built and synthesized in turn; the medians give
  the time per function and the ratios (goals: traced <= 1.1x plain, and
  traced <= 1.2x the same function wired by hand).
- Review: apps with 1, 50 and 200 ``TracedFunction`` are synthesized once; then
  ``review_path`` plus all three reports are timed (median of several runs,
  after one warm-up that compiles the HTML template). Goal for 200: well under a
  second (<= 0.5 s).
"""

from __future__ import annotations

import functools
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

SYNTH_FUNCTIONS = 40
SYNTH_ROUNDS = 3
REVIEW_SIZES = (1, 50, 200)
REVIEW_ROUNDS = 5
RATIO_GOAL = 1.1
HAND_RATIO_GOAL = 1.2
PER_STACK = 100
REVIEW_GOAL_S = 0.5


def _hand_wired(scope: Any, id: str, **kwargs: Any) -> Any:
    """The same function as a ``TracedFunction``, wired by hand: tracing, layer, handler, env."""
    from aws_cdk import aws_lambda as lambda_

    from cdk_lambda_xray import TracingLayer

    environment = {
        **kwargs.pop("environment"),
        "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
        "LAMBDA_XRAY_HANDLER": kwargs.pop("handler"),
        "LAMBDA_XRAY_CAPTURE_RESPONSE": "false",
        "LAMBDA_XRAY_CAPTURE_ERROR": "true",
    }
    return lambda_.Function(
        scope,
        id,
        handler="lambda_xray.handler.handler",
        environment=environment,
        tracing=lambda_.Tracing.ACTIVE,  # CDK adds the X-Ray statement to the role itself
        layers=[TracingLayer.of(scope, kwargs["runtime"])],
        **kwargs,
    )


def _app(outdir: Path, n: int, traced: bool | str) -> Any:
    import aws_cdk as cdk
    from aws_cdk import aws_lambda as lambda_

    app = cdk.App(outdir=str(outdir))
    code = lambda_.Code.from_inline("def handler(event, context):\n    return event\n")
    kwargs: dict[str, Any] = {
        "runtime": lambda_.Runtime.PYTHON_3_12,
        "handler": "index.handler",
        "code": code,
        "timeout": cdk.Duration.seconds(10),
        "environment": {"STAGE": "bench"},
    }
    from cdk_lambda_xray import TracedFunction

    factory: Any = {True: TracedFunction, False: lambda_.Function, "hand": _hand_wired}[traced]
    stacks: list[cdk.Stack] = []
    for i in range(n):
        if i % PER_STACK == 0:  # CloudFormation allows 500 resources per stack
            stacks.append(cdk.Stack(app, f"Bench{len(stacks)}"))
        factory(stacks[-1], f"Fn{i}", **dict(kwargs))
    return app


def _synth_seconds(root: Path, n: int, traced: bool | str, tag: str) -> float:
    start = time.perf_counter()
    _app(root / tag, n, traced).synth()
    return time.perf_counter() - start


def _median_time(fn: Callable[[], object], rounds: int) -> float:
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def _synth_rows(root: Path) -> list[dict[str, Any]]:
    _synth_seconds(root, 2, True, "warmup")  # start jsii, load both construct paths
    _synth_seconds(root, 2, False, "warmup-plain")
    _synth_seconds(root, 2, "hand", "warmup-hand")
    plain: list[float] = []
    hand: list[float] = []
    traced: list[float] = []
    for i in range(SYNTH_ROUNDS):
        plain.append(_synth_seconds(root, SYNTH_FUNCTIONS, False, f"plain{i}"))
        hand.append(_synth_seconds(root, SYNTH_FUNCTIONS, "hand", f"hand{i}"))
        traced.append(_synth_seconds(root, SYNTH_FUNCTIONS, True, f"traced{i}"))
    per_plain = statistics.median(plain) / SYNTH_FUNCTIONS * 1000
    per_hand = statistics.median(hand) / SYNTH_FUNCTIONS * 1000
    per_traced = statistics.median(traced) / SYNTH_FUNCTIONS * 1000
    ratio = per_traced / per_plain
    hand_ratio = per_traced / per_hand
    detail = f"{SYNTH_FUNCTIONS} functions per app, median of {SYNTH_ROUNDS} build+synth runs"
    return [
        _row("synth per plain Function", per_plain, "ms", None, None, detail),
        _row("synth per function wired by hand", per_hand, "ms", None, None, detail),
        _row("synth per TracedFunction", per_traced, "ms", None, None, detail),
        _row(
            "synth TracedFunction / Function",
            ratio,
            "x",
            f"≤ {RATIO_GOAL}",
            ratio <= RATIO_GOAL,
            "includes the per-stack layer asset, amortized over the app",
        ),
        _row(
            "TracedFunction vs the same function wired by hand (tracing, layer, handler, "
            "environment, policy)",
            hand_ratio,
            "x",
            f"≤ {HAND_RATIO_GOAL}",
            hand_ratio <= HAND_RATIO_GOAL,
            "both with the per-stack layer; by hand, CDK adds the X-Ray statement to the role",
        ),
    ]


def _review_rows(root: Path) -> list[dict[str, Any]]:
    from cdk_lambda_xray.review import report_html, report_json, report_markdown
    from cdk_lambda_xray.review.review import review_path

    def full_review(out: Path) -> None:
        review = review_path(out)
        report_markdown.render(review)
        report_html.render(review)
        report_json.render(review)

    rows = []
    for n in REVIEW_SIZES:
        out = root / f"review{n}"
        _app(out, n, traced=True).synth()
        full_review(out)  # warm-up: template compilation, file cache
        seconds = _median_time(functools.partial(full_review, out), REVIEW_ROUNDS)
        goal = f"≤ {REVIEW_GOAL_S * 1000:.0f} ms" if n == max(REVIEW_SIZES) else None
        passed = seconds <= REVIEW_GOAL_S if goal else None
        rows.append(
            _row(
                f"review {n} functions (+ md/html/json)",
                seconds * 1000,
                "ms",
                goal,
                passed,
                f"median of {REVIEW_ROUNDS} runs on a synthesized cdk.out",
            )
        )
    return rows


def _row(
    metric: str, value: float, unit: str, goal: str | None, passed: bool | None, detail: str
) -> dict[str, Any]:
    return {
        "bench": "synth+review",
        "metric": metric,
        "value": value,
        "unit": unit,
        "goal": goal,
        "passed": passed,
        "detail": detail,
    }


def run() -> list[dict[str, Any]]:
    """Rows for ``bench/run.py``."""
    with tempfile.TemporaryDirectory(prefix="bench-synth-review-") as tmp:
        root = Path(tmp)
        return _synth_rows(root) + _review_rows(root)


if __name__ == "__main__":
    for row in run():
        goal = f"  goal {row['goal']}: {'pass' if row['passed'] else 'MISS'}" if row["goal"] else ""
        print(f"{row['metric']:<42} {row['value']:>9.2f} {row['unit']}{goal}  ({row['detail']})")
    sys.exit(0)
