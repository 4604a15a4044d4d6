"""Helpers for the review's hostile-input tests: run the CLI in process, the sentinel."""

from __future__ import annotations

import contextlib
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: Written only into files outside every test assembly: it must never reach any output.
SENTINEL = "SENTINEL7f3a9c"


@dataclass(frozen=True)
class CliRun:
    """What one in-process run of ``review`` printed and returned."""

    status: int
    out: str
    err: str

    @property
    def said(self) -> str:
        """Everything the run printed."""
        return self.out + self.err

    def assert_one_line_error(self, *fragments: str) -> None:
        """Exit 2 with exactly one line on stderr (no traceback) containing ``fragments``."""
        assert self.status == 2, (self.status, self.err)
        assert self.err.count("\n") == 1 and self.err.startswith("review: error: "), self.err
        assert "internal error" not in self.err, self.err
        for fragment in fragments:
            assert fragment in self.err, (fragment, self.err)


def run_cli(*args: str) -> CliRun:
    """``python -m cdk_lambda_xray review ARGS`` in this process (stdout and stderr captured)."""
    from cdk_lambda_xray.review.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err):
        status = main(list(args), stdout=out)
    return CliRun(status, out.getvalue(), err.getvalue())


def write_json(path: Path, data: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def sentinel_template() -> dict[str, Any]:
    """A template whose function name and path carry :data:`SENTINEL` (read = visible)."""
    return {
        "Resources": {
            f"{SENTINEL}Fn": {
                "Type": "AWS::Lambda::Function",
                "Metadata": {"aws:cdk:path": f"{SENTINEL}/Fn/Resource"},
                "Properties": {"Runtime": "python3.12", "Handler": f"{SENTINEL}.handler"},
            }
        }
    }


def write_outside(root: Path) -> Path:
    """A directory outside every test assembly whose files all carry :data:`SENTINEL`.

    ``outside.template.json`` (a template), ``manifest.json`` (an assembly naming
    it), ``assets.json`` (an asset manifest), ``metadata.json`` (stack metadata
    naming logical id ``Fn`` of stack ``S``) and ``secret.txt`` (plain text).
    """
    write_json(root / "outside.template.json", sentinel_template())
    write_json(
        root / "manifest.json",
        {
            "version": "36.0.0",
            "artifacts": {
                SENTINEL: {
                    "type": "aws:cloudformation:stack",
                    "properties": {"templateFile": "outside.template.json"},
                }
            },
        },
    )
    write_json(root / "assets.json", {"files": {SENTINEL: {"source": {"path": SENTINEL}}}})
    write_json(
        root / "metadata.json",
        {f"/S/{SENTINEL}": [{"type": "aws:cdk:logicalId", "data": "Fn"}]},
    )
    (root / "secret.txt").write_text(f"{SENTINEL}\n", encoding="utf-8")
    return root
