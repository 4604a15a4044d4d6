"""The handler grammar checked at synth agrees with the one the layer loads by.

``TracedFunction`` refuses a Python handler the tracing wrapper could never
load (``LAMBDA_XRAY_HANDLER``). Generated handler strings: whatever synth
accepts, the layer's own ``load_handler`` gets past its grammar checks (it
then fails only because the module does not exist), and what the layer calls
malformed, synth refuses.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cdk_lambda_xray._inputs import handler_problem
from lambda_xray import handler as layer_handler

#: The module part always starts with a name no installed module has, so the
#: layer's import fails cleanly and imports nothing.
_PREFIX = "zzlxnomodule"
_TAILS = st.text(alphabet="ab_1./- \t:é", max_size=12)


def _layer_verdict(name: str) -> str:
    try:
        layer_handler.load_handler(name)
    except (layer_handler.MalformedHandlerName, layer_handler.BuiltInModuleConflict):
        return "malformed"
    except layer_handler.ImportModuleError:
        return "grammar ok"
    return "loaded"  # pragma: no cover - no such module exists


@settings(max_examples=60, deadline=None, database=None)
@given(tail=_TAILS)
def test_what_synth_accepts_the_layer_can_parse(tail: str) -> None:
    name = _PREFIX + tail
    accepted = handler_problem(name, python=True) is None
    verdict = _layer_verdict(name) if accepted or "." not in name else "skipped"
    if accepted:
        assert verdict == "grammar ok", (name, verdict)
    if verdict == "malformed":
        assert not accepted, name


@pytest.mark.parametrize(
    ("handler", "python", "problem"),
    [
        ("index", True, "no function part"),
        ("index", False, None),
        ("bootstrap", False, None),
        ("com.example.Handler::handleRequest", False, None),
        ("pkg/mod.handler", True, None),
        ("pkg.mod.handler", True, None),
        ("os.getcwd", True, None),
        ("sys.exit", True, "built-in"),
        ("a b.c", False, "whitespace"),
        ("", False, "empty"),
        ("x" * 129, False, "128"),
    ],
)
def test_handler_grammar_per_runtime_family(
    handler: str, python: bool, problem: str | None
) -> None:
    found = handler_problem(handler, python=python)
    if problem is None:
        assert found is None
    else:
        assert found is not None and problem in found
