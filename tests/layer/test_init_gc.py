"""Init ends with ``gc.freeze()``: what Init allocated is not walked by later collections.

Run in a fresh interpreter (freezing is process-wide): the runtime's Init is
``import lambda_xray.handler`` and the look-up of ``handler``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

LAYER_PYTHON = Path(__file__).resolve().parents[2] / "layers" / "lambda_xray" / "python"

PROBE = """
import gc, json, sys
sys.path.insert(0, sys.argv[1])
sys.path.insert(0, sys.argv[2])
before = gc.get_freeze_count()
import lambda_xray.handler as wrapper
imported = gc.get_freeze_count()
wrapper.handler  # the runtime's Init look-up: loads the function's module
print(json.dumps({"before": before, "imported": imported, "init": gc.get_freeze_count()}))
"""


def _init_in_fresh_process(task_root: Path, handler: str) -> dict[str, int]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LAMBDA_XRAY_", "AWS_"))}
    env["LAMBDA_XRAY_HANDLER"] = handler
    out = subprocess.run(
        [sys.executable, "-c", PROBE, str(LAYER_PYTHON), str(task_root)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    result: dict[str, int] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def test_init_freezes_what_it_allocated_and_importing_alone_does_not(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(
        "import json\nCACHE = {'k': [1, 2]}\ndef handler(e, c):\n    return 1\n"
    )
    counts = _init_in_fresh_process(tmp_path, "app.handler")
    assert counts["before"] == 0
    assert counts["imported"] == 0  # importing the wrapper only defines things
    assert counts["init"] > counts["imported"]


def test_init_freezes_even_when_the_handler_cannot_load(tmp_path: Path) -> None:
    (tmp_path / "broken.py").write_text("raise ImportError('missing dependency')\n")
    counts = _init_in_fresh_process(tmp_path, "broken.handler")
    assert counts["init"] > 0
