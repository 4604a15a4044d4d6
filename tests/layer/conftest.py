"""Shared fixtures for the runtime layer's tests.

- ``xray_schema``: AWS's segment document schema as a jsonschema validator.
- ``assert_valid``: validates documents against it (every test that receives
  documents calls it on all of them).
- ``collector``: a real UDP collector (the local stand-in for the X-Ray
  daemon) with ``AWS_XRAY_DAEMON_ADDRESS`` pointing at it.
- ``layer``: a clean layer state for the test (settings re-read from the
  environment, cold start again, no loaded handler) with a Lambda-like
  environment; tests set variables with ``monkeypatch``.
- ``xray``: the layer's client patches installed and its documents caught
  in memory (``lambda_xray.testing.InMemoryEmitter``); a test module that
  wants no patches, or other settings, defines its own.
- ``handler_dir``: a temporary directory on ``sys.path`` where a test writes
  the function's handler modules; they are unloaded after the test.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
LAYER_PYTHON = REPO_ROOT / "layers" / "lambda_xray" / "python"
HARNESS = Path(__file__).resolve().parent / "harness"

for _path in (LAYER_PYTHON, HARNESS):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from lx_schema import document_validator, validate_subsegment  # noqa: E402

#: Variables the layer reads; cleared for every test so the host's values never leak in.
LAYER_VARIABLES = (
    "LAMBDA_XRAY_HANDLER",
    "LAMBDA_XRAY_SERVICE_NAME",
    "LAMBDA_XRAY_CAPTURE_RESPONSE",
    "LAMBDA_XRAY_CAPTURE_ERROR",
    "LAMBDA_XRAY_DISABLED",
    "LAMBDA_XRAY_FORMAT",
    "LAMBDA_XRAY_OTLP_UNSAMPLED",
    "AWS_XRAY_CONTEXT_MISSING",
    "AWS_XRAY_DAEMON_ADDRESS",
    "_X_AMZN_TRACE_ID",
    "AWS_LAMBDA_FUNCTION_NAME",
)

DocumentCheck = Callable[[list[dict[str, Any]]], None]


@pytest.fixture(scope="session")
def xray_schema() -> Any:
    return document_validator()


@pytest.fixture(scope="session")
def assert_valid() -> DocumentCheck:
    """Assert every document is schema-valid and a standalone subsegment."""

    def check(documents: list[dict[str, Any]]) -> None:
        assert documents, "no documents received"
        for doc in documents:
            validate_subsegment(doc)
            assert len(doc["parent_id"]) == 16
            assert doc["start_time"] <= doc["end_time"]

    return check


@pytest.fixture
def layer(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A fresh layer state and an environment with none of the layer's variables."""
    from lambda_xray import testing

    for name in LAYER_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "traced-test")
    testing.reset()
    yield
    testing.reset()


@pytest.fixture(scope="session")
def _session_collector() -> Iterator[Any]:
    from cdk_lambda_xray.local.collector import Collector

    with Collector() as collector:
        yield collector


@pytest.fixture
def collector(_session_collector: Any, layer: None, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The UDP collector, emptied, with the layer sending to it."""
    _session_collector.clear()
    monkeypatch.setenv("AWS_XRAY_DAEMON_ADDRESS", _session_collector.address)
    return _session_collector


@pytest.fixture
def xray(layer: None) -> Iterator[Any]:
    """The layer's client patches installed, its documents caught in memory."""
    from lambda_xray import patches
    from lambda_xray.testing import InMemoryEmitter

    patches.install()
    with InMemoryEmitter() as emitter:
        yield emitter


@pytest.fixture
def handler_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A directory on ``sys.path`` for the test's handler modules (unloaded afterwards)."""
    monkeypatch.syspath_prepend(str(tmp_path))
    before = set(sys.modules)
    yield tmp_path
    doomed = [name for name in set(sys.modules) - before if _lives_in(sys.modules[name], tmp_path)]
    for name in doomed:
        del sys.modules[name]


def _lives_in(module: Any, directory: Path) -> bool:
    locations = [str(getattr(module, "__file__", None) or "")]
    try:
        locations += [str(p) for p in getattr(module, "__path__", [])]
    except Exception:  # a namespace package's path can fail to recompute
        return False
    return any(location.startswith(str(directory)) for location in locations)
