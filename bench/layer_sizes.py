"""Zip size of every layer version a function can get: per runtime, each part and combination.

``.venv/bin/python bench/layer_sizes.py [BUILDS]`` prints the Markdown table of
docs/bytecode.md ("Sizes and cold start"): for each runtime, the core alone,
the core with each part (and the parts it requires, as the planner gives
them), the common combinations, and every part; KB of the assembled tree
zipped with deflate level 9, as CDK packages assets. ``BUILDS`` defaults to
this checkout's builds (``make layer-bytecode``). Not run by ``make bench``
(sizes are not timings: ``bench_cold_start.py`` reports the core's size
against the goal).
"""

from __future__ import annotations

import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "constructs"))

from cdk_lambda_xray import _bytecode  # noqa: E402
from cdk_lambda_xray._layer_parts import PARTS, with_required  # noqa: E402


def combinations() -> list[tuple[str, frozenset[str]]]:
    """The columns: the core, the core with each part (and what it requires), every part."""
    columns = [("core only", frozenset[str]())]
    for name in PARTS:
        parts = with_required({name})
        shown = " + ".join(p for p in PARTS if p in parts)
        columns.append((f"+ {shown}", parts))
    columns.append(("+ api + requests", frozenset({"api", "requests"})))
    columns.append(("all parts", frozenset(PARTS)))
    return columns


def main(builds: Path) -> None:
    columns = combinations()
    print("| runtime | " + " | ".join(name for name, _ in columns) + " |")
    print("|---" * (len(columns) + 1) + "|")
    for minor in _bytecode.PYTHON_MINORS:
        runtime = _bytecode.runtime_name(minor)
        built = _bytecode.read_manifest(builds, runtime)
        if built is None:
            continue
        label = runtime if built.has_bytecode else f"{runtime} (source only)"
        sizes = [
            _bytecode.zipped_kb(_bytecode.assemble_layer(builds, runtime, p)) for _, p in columns
        ]
        print(f"| {label} | " + " | ".join(f"{kb:.1f}" for kb in sizes) + " |")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else _bytecode.default_builds_path())
