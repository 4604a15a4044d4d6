"""Save every review the tests run (Markdown, HTML, JSON) to compare two versions byte for byte.

A pytest plugin for refactoring the review: it wraps ``run_review`` so each
review a test makes (hand-written assemblies, the broken app, the reference app,
the real apps) is also rendered in the three formats and written under
``$REVIEW_SNAPSHOT_DIR``, one file per review and format, named after the test.
Run it before and after a change with the same ``--basetemp`` (the assembly
path is part of every report), then compare the two directories::

    REVIEW_SNAPSHOT_DIR=/tmp/before PYTHONPATH=tests/review .venv/bin/python -m pytest \\
        tests/review tests/realapps -p review_snapshot --basetemp=/tmp/snap-base \\
        --hypothesis-seed=0 -q
    .venv/bin/python tests/review/review_snapshot.py /tmp/before /tmp/after

Not a test module (no ``test_`` prefix): pytest loads it only with ``-p``.
"""

from __future__ import annotations

import os
import re
import sys
from collections import Counter
from pathlib import Path
from typing import Any

_COUNTS: Counter[str] = Counter()
#: tempfile.TemporaryDirectory names, random on every run (some tests make their own)
_TEMP_DIR = re.compile(rb"(/tmp/tmp)(?:\\?[A-Za-z0-9_]){8}")
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def _name() -> str:
    current = os.environ.get("PYTEST_CURRENT_TEST", "outside-a-test").rsplit(" ", 1)[0]
    key = _UNSAFE.sub("_", current)[-150:]
    _COUNTS[key] += 1
    return f"{key}__{_COUNTS[key]:03d}"


def _save(review: Any) -> None:
    from cdk_lambda_xray.review import report_html, report_json, report_markdown
    from cdk_lambda_xray.review.rules import Severity

    out = Path(os.environ["REVIEW_SNAPSHOT_DIR"])
    out.mkdir(parents=True, exist_ok=True)
    name = _name()
    renderers = {
        "md": lambda: report_markdown.render(review, Severity.WARNING),
        "html": lambda: report_html.render(review, Severity.WARNING),
        "json": lambda: report_json.render(review, Severity.WARNING),
    }
    for ext, render in renderers.items():
        try:
            text = render()
        except Exception as exc:  # recorded, so a change in what fails shows too
            text = f"RENDER FAILED: {type(exc).__name__}: {exc}\n"
        # reports of hostile assemblies may hold lone surrogates: kept as they are
        (out / f"{name}.{ext}").write_bytes(text.encode("utf-8", "surrogatepass"))


def _same_hypothesis_inputs() -> None:
    """Hypothesis seeds its inputs with string constants found in the code under test;
    a refactor changes those, and with them the inputs. Off here, so both runs see the
    same inputs for the same seed."""
    try:
        from hypothesis.internal.conjecture import providers
    except ImportError:  # pragma: no cover - the test dependencies include hypothesis
        return
    empty = providers._local_constants
    providers._get_local_constants = lambda: empty


def pytest_configure(config: Any) -> None:
    if not os.environ.get("REVIEW_SNAPSHOT_DIR"):
        return
    _same_hypothesis_inputs()
    import cdk_lambda_xray.review as package
    import cdk_lambda_xray.review.review as module

    original = module.run_review

    def run_review(*args: Any, **kwargs: Any) -> Any:
        review = original(*args, **kwargs)
        _save(review)
        return review

    module.run_review = run_review  # type: ignore[assignment]
    package.run_review = run_review  # type: ignore[assignment]


def _stable(path: Path) -> bytes:
    return _TEMP_DIR.sub(rb"\1XXXXXXXX", path.read_bytes())


def compare(before: Path, after: Path) -> int:
    """Print every file that differs or exists on one side only; 0 when all are identical.

    Byte for byte, except random temporary directory names (``/tmp/tmpXXXXXXXX``).
    """
    names_before = {p.name for p in before.iterdir()}
    names_after = {p.name for p in after.iterdir()}
    problems = [f"only before: {n}" for n in sorted(names_before - names_after)]
    problems += [f"only after: {n}" for n in sorted(names_after - names_before)]
    same = 0
    for name in sorted(names_before & names_after):
        if _stable(before / name) == _stable(after / name):
            same += 1
        else:
            problems.append(f"differs: {name}")
    print("\n".join(problems))
    print(f"{same} identical, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(compare(Path(sys.argv[1]), Path(sys.argv[2])))
