"""``AWS_XRAY_CONTEXT_MISSING``: recording outside an invocation, in each mode.

Context missing is recording after the first invocation started, outside any
invocation (the ``ended`` fixture runs one first). Before that the process is
in Init, where every attempt is "not traced: init" in every mode.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest

import lambda_xray
from lambda_xray import _recorder, annotate, config, metadata, subsegment
from lambda_xray.context_missing import ContextMissingError
from lambda_xray.testing import InMemoryEmitter, invocation

MISSING = "its invocation is not active"


def record_client_call() -> None:
    sub = _recorder.begin_subsegment("DynamoDB", "aws")
    assert sub is None


def record_block() -> None:
    with subsegment("init work") as scope:
        assert scope.subsegment is None


ATTEMPTS: list[Callable[[], None]] = [
    record_client_call,
    record_block,
    lambda: annotate("k", "v"),
    lambda: metadata("k", "v"),
]


def layer_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "lambda_xray"]


@pytest.fixture
def ended(layer: None) -> None:
    """A fresh layer after its first invocation ended: Init is over."""
    with InMemoryEmitter(), invocation():
        pass
    config.reset()  # the test's own settings are read at its first attempt


@pytest.mark.parametrize("mode", ["LOG_ERROR", "RUNTIME_ERROR", "IGNORE_ERROR", "EXPLODE"])
def test_during_init_every_attempt_is_silently_not_traced_in_every_mode(
    mode: str,
    layer: None,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("AWS_XRAY_CONTEXT_MISSING", mode)
    with InMemoryEmitter() as xray:
        for _ in range(3):
            for attempt in ATTEMPTS:
                attempt()
        assert _recorder.outgoing_trace_header(None) is None
    assert xray.documents == []
    assert [r for r in layer_records(caplog) if "cannot record" in r.getMessage()] == []


@pytest.mark.parametrize("value", [None, "LOG_ERROR", "log_error"])
def test_log_error_logs_one_clear_line_for_any_number_of_attempts(
    value: str | None,
    ended: None,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    if value is not None:
        monkeypatch.setenv("AWS_XRAY_CONTEXT_MISSING", value)
    for _ in range(3):
        for attempt in ATTEMPTS:
            attempt()
    (record,) = layer_records(caplog)
    assert record.levelno == logging.ERROR
    message = record.getMessage()
    assert "cannot record 'DynamoDB'" in message and MISSING in message
    assert "AWS_XRAY_CONTEXT_MISSING" in message


@pytest.mark.parametrize("attempt", ATTEMPTS)
def test_runtime_error_raises_the_named_error_at_each_attempt(
    attempt: Callable[[], None], ended: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_XRAY_CONTEXT_MISSING", "RUNTIME_ERROR")
    for _ in range(2):
        with pytest.raises(ContextMissingError, match=MISSING):
            attempt()


def test_the_error_is_public_and_a_runtime_error() -> None:
    assert lambda_xray.ContextMissingError is ContextMissingError
    assert issubclass(ContextMissingError, RuntimeError)


def test_ignore_error_is_silent(
    ended: None, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("AWS_XRAY_CONTEXT_MISSING", "IGNORE_ERROR")
    for attempt in ATTEMPTS:
        attempt()
    assert layer_records(caplog) == []


def test_an_unknown_mode_warns_once_and_logs_like_log_error(
    ended: None, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("AWS_XRAY_CONTEXT_MISSING", "EXPLODE")
    for _ in range(3):
        for attempt in ATTEMPTS:
            attempt()
    warning, error = layer_records(caplog)
    assert warning.levelno == logging.WARNING
    assert "AWS_XRAY_CONTEXT_MISSING='EXPLODE'" in warning.getMessage()
    assert "LOG_ERROR" in warning.getMessage()
    assert error.levelno == logging.ERROR and MISSING in error.getMessage()


def test_disabled_tracing_never_reports_a_missing_context(
    ended: None, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("AWS_XRAY_CONTEXT_MISSING", "RUNTIME_ERROR")
    monkeypatch.setenv("LAMBDA_XRAY_DISABLED", "1")
    for attempt in ATTEMPTS:
        attempt()
    assert layer_records(caplog) == []


def test_the_outgoing_header_outside_an_invocation_is_none_and_silent(
    ended: None, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("AWS_XRAY_CONTEXT_MISSING", "RUNTIME_ERROR")
    assert _recorder.outgoing_trace_header(None) is None
    assert layer_records(caplog) == []
