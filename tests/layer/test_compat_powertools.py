"""``lambda_xray.compat.Tracer``: Powertools' Tracer calls on the layer's recorder.

In-process through the real handler wrapper (``lambda_xray.handler.handler``
with ``LAMBDA_XRAY_HANDLER``) or ``lambda_xray.testing.invocation``; the
Powertools handler of ``lx_compat_apps`` runs under awslambdaric in
``test_compat_runtime``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lambda_xray import handler as wrapper
from lambda_xray.compat import Tracer, xray_recorder
from lambda_xray.testing import InMemoryEmitter, invocation, trace_header

POWERTOOLS_VARIABLES = (
    "POWERTOOLS_SERVICE_NAME",
    "POWERTOOLS_TRACE_DISABLED",
    "POWERTOOLS_TRACER_CAPTURE_RESPONSE",
    "POWERTOOLS_TRACER_CAPTURE_ERROR",
)


@pytest.fixture
def xray(layer: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[InMemoryEmitter]:
    for name in POWERTOOLS_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(Tracer, "_shared_service", "")
    with InMemoryEmitter() as emitter:
        yield emitter


def run_handler(
    source: str, handler_dir: Path, monkeypatch: pytest.MonkeyPatch, event: Any = None
) -> Any:
    """Run ``source``'s ``handler`` through the layer's wrapper, sampled; its response."""
    (handler_dir / "pt_app.py").write_text(source)
    monkeypatch.setenv("LAMBDA_XRAY_HANDLER", "pt_app.handler")
    monkeypatch.setenv("_X_AMZN_TRACE_ID", trace_header())
    return wrapper.handler(event or {}, None)


def layer_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "lambda_xray" and r.levelno == logging.WARNING
    ]


APP = """
from lambda_xray.compat import Tracer

tracer = Tracer(service="payment")


@tracer.capture_method
def collect(amount):
    tracer.put_annotation("PaymentStatus", "CONFIRMED")
    if amount < 0:
        raise ValueError("negative amount")
    return {"collected": amount}


@tracer.capture_lambda_handler{params}
def handler(event, context):
    return collect(event.get("amount", 5))
"""


def test_capture_lambda_handler_adds_no_second_handler_subsegment(
    xray: InMemoryEmitter, handler_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run_handler(APP.replace("{params}", ""), handler_dir, monkeypatch) == {"collected": 5}
    assert xray.names() == ["## pt_app.collect", "## pt_app.handler"]
    (root,) = xray.named("## pt_app.handler")
    assert root["annotations"]["Service"] == "payment"  # the tracer's, not the function name
    assert root["annotations"]["ColdStart"] is True
    (collect,) = xray.children_of(root)
    assert collect["annotations"] == {"PaymentStatus": "CONFIRMED"}
    assert "metadata" not in root and "metadata" not in collect  # responses: only when asked


def test_capture_response_argument_records_the_response_as_powertools_does(
    xray: InMemoryEmitter, handler_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_handler(APP.replace("{params}", "(capture_response=True)"), handler_dir, monkeypatch)
    (root,) = xray.named("## pt_app.handler")
    assert root["metadata"] == {"payment": {"handler response": {"collected": 5}}}


@pytest.mark.parametrize(
    ("env", "params", "recorded"),
    [
        ("true", "", True),
        ("true", "(capture_response=False)", False),
        ("false", "(capture_response=True)", True),
    ],
)
def test_capture_response_env_is_honoured_below_the_argument(
    env: str,
    params: str,
    recorded: bool,
    xray: InMemoryEmitter,
    handler_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("POWERTOOLS_TRACER_CAPTURE_RESPONSE", env)
    run_handler(APP.replace("{params}", params), handler_dir, monkeypatch)
    (root,) = xray.named("## pt_app.handler")
    (collect,) = xray.named("## pt_app.collect")
    assert ("metadata" in root) is recorded
    # The method has no argument: the variable alone decides for it.
    assert ("metadata" in collect) is (env == "true")


@pytest.mark.parametrize(
    ("env", "params", "recorded"),
    [
        (None, "", True),
        ("false", "", False),
        ("false", "(capture_error=True)", True),
        (None, "(capture_error=False)", False),
    ],
)
def test_capture_error_records_the_error_type_on_handler_and_method(
    env: str | None,
    params: str,
    recorded: bool,
    xray: InMemoryEmitter,
    handler_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if env is not None:
        monkeypatch.setenv("POWERTOOLS_TRACER_CAPTURE_ERROR", env)
    with pytest.raises(ValueError, match="negative amount"):
        run_handler(APP.replace("{params}", params), handler_dir, monkeypatch, {"amount": -1})
    (root,) = xray.named("## pt_app.handler")
    (collect,) = xray.named("## pt_app.collect")
    assert root["fault"] is True and collect["fault"] is True
    assert collect["cause"]["exceptions"][0]["type"] == "ValueError"
    expected = {"type": "ValueError"}
    root_meta = root.get("metadata", {}).get("payment", {})
    assert (root_meta.get("handler error") == expected) is recorded
    collect_meta = collect.get("metadata", {}).get("payment", {})
    assert (collect_meta.get("pt_app.collect error") == expected) is (env != "false")
    assert "negative amount" not in str(root.get("metadata"))  # the message is in the cause only


def test_capture_method_covers_functions_coroutines_generators_and_context_managers(
    xray: InMemoryEmitter,
) -> None:
    tracer = Tracer(service="shop")

    class Cart:
        @tracer.capture_method
        def total(self) -> int:
            return 3

    @tracer.capture_method(capture_response=True)
    async def price(sku: str) -> float:
        await asyncio.sleep(0.01)
        return 1.5

    @tracer.capture_method
    def items() -> Iterator[str]:
        tracer.put_annotation("streaming", True)
        yield from ("a", "b")

    @contextlib.contextmanager
    @tracer.capture_method
    def session() -> Iterator[str]:
        yield "s-1"

    async def prices() -> list[float]:
        return list(await asyncio.gather(price("a"), price("b")))

    with invocation():
        assert Cart().total() == 3
        assert asyncio.run(prices()) == [1.5, 1.5]
        assert list(items()) == ["a", "b"]
        with session() as value:
            assert value == "s-1"
            tracer.put_metadata("inside", value)
    prefix = f"## {__name__}.{Cart.__qualname__.rpartition('.<locals>')[0]}.locals."
    assert sorted(xray.names()) == sorted(
        ["## test"]
        + [prefix + name for name in ("Cart.total", "price", "price", "items", "session")]
    )
    (root,) = xray.named("## test")
    assert len(xray.children_of(root)) == 5  # concurrent coroutines are siblings
    price_docs = [d for d in xray.documents if d["name"].endswith(".price")]
    for doc in price_docs:
        assert doc["end_time"] - doc["start_time"] >= 0.009
        (response,) = doc["metadata"]["shop"].values()
        assert response == 1.5
    (items_doc,) = [d for d in xray.documents if d["name"].endswith(".items")]
    assert items_doc["annotations"] == {"streaming": True}
    (session_doc,) = [d for d in xray.documents if d["name"].endswith(".session")]
    assert session_doc["metadata"] == {"shop": {"inside": "s-1"}}  # the block ran inside it


def test_a_decorated_function_keeps_its_name_and_signature_attributes(
    xray: InMemoryEmitter,
) -> None:
    tracer = Tracer()

    @tracer.capture_method
    def documented(a: int) -> int:
        """Doc."""
        return a

    assert documented.__name__ == "documented" and documented.__doc__ == "Doc."
    assert documented.__wrapped__(2) == 2  # type: ignore[attr-defined]


def test_service_comes_from_the_argument_then_the_variable_then_an_earlier_tracer(
    xray: InMemoryEmitter, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert Tracer().service == ""
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "from-env")
    assert Tracer().service == "from-env"
    assert Tracer(service="explicit").service == "explicit"
    monkeypatch.delenv("POWERTOOLS_SERVICE_NAME")
    assert Tracer().service == "explicit"  # shared, as Powertools shares its config


def test_metadata_without_a_service_goes_to_the_layer_service_namespace(
    xray: InMemoryEmitter,
) -> None:
    tracer = Tracer()
    with invocation():
        tracer.put_metadata("k", 1)
        tracer.put_metadata("k", 2, namespace="mine")
    (root,) = xray.named("## test")
    assert root["metadata"] == {"traced-test": {"k": 1}, "mine": {"k": 2}}


@pytest.mark.parametrize("how", ["argument", "variable"])
def test_a_disabled_tracer_records_nothing_of_its_own(
    how: str, xray: InMemoryEmitter, monkeypatch: pytest.MonkeyPatch
) -> None:
    if how == "variable":
        monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    tracer = Tracer(service="off", disabled=True if how == "argument" else None)

    @tracer.capture_method
    def work() -> int:
        tracer.put_annotation("k", 1)
        return 1

    @tracer.capture_lambda_handler
    def handler(event: Any, context: Any) -> int:
        return work()

    with invocation():
        assert handler({}, None) == 1
    (root,) = xray.documents
    assert root["name"] == "## test" and root["annotations"]["Service"] == "traced-test"
    assert "k" not in root["annotations"]


def test_outside_a_traced_invocation_the_handler_runs_and_a_missing_wrapper_is_named(
    xray: InMemoryEmitter, caplog: pytest.LogCaptureFixture
) -> None:
    tracer = Tracer(service="x")

    @tracer.capture_lambda_handler
    def handler(event: Any, context: Any) -> str:
        return "ok"

    with invocation(header=trace_header(sampled=False)):
        assert handler({}, None) == "ok"
    assert xray.documents == [] and layer_warnings(caplog) == []  # not sampled: silence
    for _ in range(2):  # no invocation at all: the layer's wrapper is not in front of it
        assert handler({}, None) == "ok"
    (warning,) = layer_warnings(caplog)
    assert "lambda_xray.handler.handler" in warning and "docs/migrating.md" in warning
    assert xray.documents == []


def test_provider_is_the_compat_recorder_for_the_documented_async_pattern(
    xray: InMemoryEmitter,
) -> None:
    tracer = Tracer(service="x")

    async def get_identity() -> str:
        async with tracer.provider.in_subsegment_async("## get_identity"):
            await asyncio.sleep(0)
            return "me"

    with invocation():
        assert asyncio.run(get_identity()) == "me"
    assert tracer.provider is xray_recorder
    assert "## get_identity" in xray.names()


def test_unsupported_calls_warn_once_naming_the_call_and_never_raise(
    xray: InMemoryEmitter, caplog: pytest.LogCaptureFixture
) -> None:
    for _ in range(2):
        tracer = Tracer(service="x", provider=object())
        tracer.ignore_endpoint(hostname="example.com")
        tracer.flush()
        Tracer(service="x", patch_modules=["pymongo"])
    warnings = layer_warnings(caplog)
    assert len(warnings) == 4, warnings
    for call in ("Tracer(provider=...)", "Tracer.ignore_endpoint()", "Tracer.flush()", "pymongo"):
        (message,) = [w for w in warnings if call in w]
        assert "docs/migrating.md" in message


def test_a_bad_capture_variable_warns_once_and_uses_the_default(
    xray: InMemoryEmitter, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("POWERTOOLS_TRACER_CAPTURE_ERROR", "maybe")
    tracer = Tracer(service="x")

    @tracer.capture_method
    def fail() -> None:
        raise KeyError("k")

    with invocation(), pytest.raises(KeyError):
        fail()
    (doc,) = [d for d in xray.documents if d["name"].endswith(".fail")]
    assert list(doc["metadata"]["x"]) == [f"{__name__}.{fail.__qualname__} error"]
    (warning,) = layer_warnings(caplog)
    assert "POWERTOOLS_TRACER_CAPTURE_ERROR='maybe'" in warning


def test_invalid_input_to_the_tracer_is_dropped_even_in_runtime_error_mode(
    xray: InMemoryEmitter, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("AWS_XRAY_CONTEXT_MISSING", "RUNTIME_ERROR")
    tracer = Tracer(service="x" * 1001)  # too long for the Service annotation

    @tracer.capture_lambda_handler
    def handler(event: Any, context: Any) -> str:
        tracer.put_annotation("payment-status", "ok")
        tracer.put_metadata("k", 1, namespace="AWS.x")
        return "ok"

    with invocation():
        assert handler({}, None) == "ok"
    (root,) = xray.documents
    assert root["annotations"]["Service"] == "traced-test"  # the layer's, kept
    assert "metadata" not in root
    assert len(layer_warnings(caplog)) == 3  # one per kind of problem
