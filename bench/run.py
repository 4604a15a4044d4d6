"""Run every ``bench/bench_*.py`` and print one combined table (``make bench``).

Each benchmark module defines ``run() -> list[dict]``; every dict is one row:

- ``bench``: short group name (e.g. ``"layer"``), ``metric``: what was measured,
- ``value`` (float) and ``unit`` (``"ms"``, ``"µs"``, ``"KB"``, ``"x"`` for ratios, ...),
- ``goal``: human-readable goal (``"≤ 3 ms"``) or ``None``,
- ``passed``: ``True``/``False`` against the goal, ``None`` for context rows,
- ``detail``: optional free text (medians, sample counts, the compared tools).

The table goes to stdout, the rows (with the environment) to
``bench-results/latest.json``. Exit status 0 even when a goal is missed: a
benchmark informs, it does not gate. ``--only NAME`` runs one module
(``bench_layer`` or ``layer``).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import platform
import sys
import time
import traceback
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
RESULTS = REPO_ROOT / "bench-results" / "latest.json"


def _modules(only: str | None) -> list[Path]:
    found = sorted(BENCH_DIR.glob("bench_*.py"))
    if only:
        wanted = only if only.startswith("bench_") else f"bench_{only}"
        found = [p for p in found if p.stem == wanted]
    return found


def _load(path: Path) -> Any:
    spec = importlib.util.spec_from_file_location(f"_bench_{path.stem}", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _fmt_value(value: Any, unit: str) -> str:
    if isinstance(value, float):
        text = f"{value:.3g}" if abs(value) < 100 else f"{value:.0f}"
    else:
        text = str(value)
    return f"{text} {unit}".strip()


def _table(rows: list[dict[str, Any]]) -> str:
    header = ("bench", "metric", "value", "goal", "pass", "detail")
    lines = [
        (
            str(r.get("bench", "")),
            str(r.get("metric", "")),
            _fmt_value(r.get("value"), str(r.get("unit", ""))),
            str(r.get("goal") or ""),
            {True: "PASS", False: "MISS", None: ""}[r.get("passed")],
            str(r.get("detail") or ""),
        )
        for r in rows
    ]
    widths = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(header)]
    widths[-1] = len(header[-1])  # detail runs free
    out = [
        "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)),
        "  ".join("-" * w for w in widths),
    ]
    out += ["  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)) for line in lines]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="run one benchmark module (e.g. layer)")
    args = parser.parse_args(argv)

    started = time.monotonic()
    rows: list[dict[str, Any]] = []
    errors: dict[str, str] = {}
    for path in _modules(args.only):
        print(f"running {path.name} ...", file=sys.stderr, flush=True)
        t0 = time.monotonic()
        try:
            produced = _load(path).run()
        except Exception:
            errors[path.stem] = traceback.format_exc()
            print(f"{path.name} failed:\n{errors[path.stem]}", file=sys.stderr)
            continue
        rows.extend(produced)
        print(f"  {path.name}: {time.monotonic() - t0:.1f} s", file=sys.stderr, flush=True)

    print(_table(rows) if rows else "no benchmark rows")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "python": sys.version.split()[0],
                "machine": platform.platform(),
                "seconds": round(time.monotonic() - started, 1),
                "rows": rows,
                "errors": errors,
            },
            indent=2,
            ensure_ascii=False,
        )
        + "\n"
    )
    missed = [r for r in rows if r.get("passed") is False]
    print(
        f"\n{len(rows)} rows, {len(missed)} goals missed, "
        f"{time.monotonic() - started:.0f} s; results in {RESULTS.relative_to(REPO_ROOT)}"
    )
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
