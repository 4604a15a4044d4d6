"""Look at a page as a user does: Debian's headless ``chromium`` lays it out, a script measures.

:func:`layout` copies the page, adds a small script at the end of its body
that measures what the browser laid out (the page's width against the
window's, every SVG node's text against its box, every table cell and code
span whose content is wider than its box) and writes the results into the
DOM as JSON; ``chromium --headless --dump-dom`` prints that DOM.
:func:`screenshot` saves what the window shows as PNG.

Nothing here is a mock: when ``chromium`` is not installed the tests that
need it are skipped, saying so (:data:`SKIP_REASON`).
"""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SKIP_REASON = (
    "chromium is not installed, so the HTML pages were NOT looked at in a browser: "
    "`apt-get update && apt-get install -y chromium` (CI's .ci/run installs it when run as root)"
)
WINDOW = (1280, 900)

_MEASURE = """
<script>
(function () {
  const out = {viewport: window.innerWidth, page_width: document.documentElement.scrollWidth,
               nodes: [], wide_cells: [], svgs: []};
  for (const svg of document.querySelectorAll("svg")) {
    const box = svg.getBoundingClientRect();
    out.svgs.push({cls: svg.getAttribute("class") || "", right: box.right, width: box.width});
  }
  for (const g of document.querySelectorAll("svg g.node")) {
    const rect = g.querySelector("rect"), text = g.querySelector("text");
    const r = rect.getBBox(), t = text.getBBox();
    out.nodes.push({key: g.getAttribute("data-key"), label: text.textContent,
                    svg: g.closest("svg").getAttribute("class"),
                    inside: t.x >= r.x - 0.5 && t.x + t.width <= r.x + r.width + 0.5,
                    text_width: t.width, box_width: r.width,
                    shown: g.getBoundingClientRect().width > 0});
  }
  for (const el of document.querySelectorAll("td, th, code")) {
    if (el.scrollWidth > el.clientWidth + 1 && getComputedStyle(el).display !== "inline") {
      out.wide_cells.push(el.textContent.slice(0, 80));
    }
  }
  const pre = document.createElement("pre");
  pre.id = "layout-results";
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
})();
</script>
"""


def _run(args: list[str], timeout: float = 90) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None, SKIP_REASON
    base = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--hide-scrollbars",
        f"--window-size={WINDOW[0]},{WINDOW[1]}",
    ]
    with tempfile.TemporaryDirectory(prefix="cdk-lambda-xray-chromium-") as profile:
        return subprocess.run(
            [*base, f"--user-data-dir={profile}", *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )


def layout(page: Path) -> dict[str, Any]:
    """What chromium laid out for ``page`` (see the module), as the measuring script saw it."""
    text = page.read_text(encoding="utf-8")
    measured = page.with_name(page.stem + ".measured.html")
    measured.write_text(text.replace("</body>", _MEASURE + "</body>"), encoding="utf-8")
    run = _run(["--dump-dom", measured.resolve().as_uri()])
    found = re.search(r'<pre id="layout-results">(.*?)</pre>', run.stdout, re.S)
    assert found, f"chromium printed no layout results: {run.stderr[-500:]}"
    result: dict[str, Any] = json.loads(html.unescape(found.group(1)))
    return result


def screenshot(page: Path, png: Path, *, height: int = WINDOW[1]) -> Path:
    """Save what a ``WINDOW[0]`` x ``height`` window shows of ``page`` as PNG."""
    png.parent.mkdir(parents=True, exist_ok=True)
    run = _run(
        [
            f"--window-size={WINDOW[0]},{height}",
            f"--screenshot={png.resolve()}",
            page.resolve().as_uri(),
        ]
    )
    assert png.is_file(), f"chromium wrote no screenshot: {run.stderr[-500:]}"
    return png
