"""Regenerate the screenshots in docs/img/ (``.venv/bin/python tests/verify/screenshots.py``).

Synthesizes the reference app, runs its handlers under the real layer
(:mod:`trace_kit`, connected as the emulated Lambda segments connect them),
renders the review report, the traces page with its trace map and the verify
report, and has headless chromium photograph each (:mod:`browser`).
"""

from __future__ import annotations

import importlib.util
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE))

import browser  # noqa: E402
import trace_kit  # noqa: E402

from cdk_lambda_xray.local.tracepage import render_html as traces_page  # noqa: E402
from cdk_lambda_xray.local.traceview import build_traces  # noqa: E402
from cdk_lambda_xray.review import report_html  # noqa: E402
from cdk_lambda_xray.review.review import review_path  # noqa: E402
from cdk_lambda_xray.review.rules import Severity  # noqa: E402
from cdk_lambda_xray.verify.cli import verify_paths  # noqa: E402
from cdk_lambda_xray.verify.reports import render_html as verify_page  # noqa: E402


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        spec = importlib.util.spec_from_file_location("reference_app", REPO / "app.py")
        assert spec is not None and spec.loader is not None
        app = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(app)
        app.build_app(str(work / "cdk.out")).synth()
        documents = trace_kit.connect(trace_kit.reference_flows())
        traces = trace_kit.write_jsonl(work / "traces.jsonl", documents)
        pages = {
            "review": report_html.render(review_path(work / "cdk.out"), Severity.WARNING),
            "traces": traces_page(build_traces(documents), title="cdk-lambda-xray demo"),
            "verify": verify_page(verify_paths(work / "cdk.out", traces), "missing"),
        }
        for name, text in pages.items():
            page = work / f"{name}.html"
            page.write_text(text, encoding="utf-8")
            png = browser.screenshot(page, REPO / "docs" / "img" / f"{name}.png", height=760)
            print(f"{png.relative_to(REPO)}: {png.stat().st_size // 1024} KiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
