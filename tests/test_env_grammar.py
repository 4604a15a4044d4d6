"""One table of environment values: what the layer makes of each, and whether synth accepts it.

The layer side is the real ``lambda_xray.config`` (and the real wrapper for the
handler); the synth side is ``cdk_lambda_xray._env_values``, which
``TracedFunction``, the ``XRayTracing`` aspect and the review all call. Where
synth refuses a value the layer accepts, the reason given in
``SYNTH_STRICTER`` is checked against the real aws-xray-sdk.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from aws_xray_sdk.core.context import SUPPORTED_CONTEXT_MISSING, Context
from aws_xray_sdk.core.daemon_config import DaemonConfig
from aws_xray_sdk.core.exceptions.exceptions import InvalidDaemonAddressException

from cdk_lambda_xray import _contract as names
from cdk_lambda_xray._env_values import SYNTH_STRICTER, grammar, synth_accepts, value_problem
from lambda_xray import _log, config, handler

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT = object()  # the layer uses the variable's default
WARNED = "warned"  # the layer logs one warning, then uses the default
OK, REFUSED = True, False

# variable, value, what the layer reads (DEFAULT: the default), the layer warns, synth accepts
DAEMON = names.ENV_DAEMON_ADDRESS

CASES: list[tuple[str, str, Any, bool, bool]] = [
    # daemon address: Lambda's forms; the layer also reads IPv6 and any-case tcp/udp
    (DAEMON, "169.254.79.129:2000", ("169.254.79.129", 2000), False, OK),
    (
        DAEMON,
        "xray-daemon.internal:2000",
        ("xray-daemon.internal", 2000),
        False,
        OK,
    ),
    (DAEMON, "xray_daemon:2000", ("xray_daemon", 2000), False, OK),
    (
        DAEMON,
        "tcp:10.0.0.1:2000 udp:10.0.0.2:2001",
        ("10.0.0.2", 2001),
        False,
        OK,
    ),
    (
        DAEMON,
        "udp:10.0.0.1:2001 tcp:10.0.0.1:2000",
        ("10.0.0.1", 2001),
        False,
        OK,
    ),
    (DAEMON, "[::1]:2000", ("::1", 2000), False, REFUSED),
    (
        DAEMON,
        "TCP:10.0.0.1:2000 UDP:10.0.0.1:2001",
        ("10.0.0.1", 2001),
        False,
        REFUSED,
    ),
    (
        DAEMON,
        "tcp:10.0.0.1:2000  udp:10.0.0.1:2001",
        ("10.0.0.1", 2001),
        False,
        REFUSED,
    ),
    (DAEMON, " 127.0.0.1:2000", ("127.0.0.1", 2000), False, REFUSED),
    (DAEMON, "localhost", DEFAULT, True, REFUSED),
    (DAEMON, "127.0.0.1:0", DEFAULT, True, REFUSED),
    (DAEMON, "127.0.0.1:70000", DEFAULT, True, REFUSED),
    (DAEMON, "::1:2000", DEFAULT, True, REFUSED),
    (DAEMON, "tcp:1.2.3.4:5", DEFAULT, True, REFUSED),
    (DAEMON, "evil/host:2000", DEFAULT, True, REFUSED),
    (DAEMON, "", DEFAULT, False, REFUSED),
    # context missing: the layer reads any case; the X-Ray SDKs only the exact name
    (names.ENV_CONTEXT_MISSING, "LOG_ERROR", "LOG_ERROR", False, OK),
    (names.ENV_CONTEXT_MISSING, "RUNTIME_ERROR", "RUNTIME_ERROR", False, OK),
    (names.ENV_CONTEXT_MISSING, "IGNORE_ERROR", "IGNORE_ERROR", False, OK),
    (names.ENV_CONTEXT_MISSING, "log_error", "LOG_ERROR", False, REFUSED),
    (names.ENV_CONTEXT_MISSING, " RUNTIME_ERROR ", "RUNTIME_ERROR", False, REFUSED),
    (names.ENV_CONTEXT_MISSING, "LOG", DEFAULT, True, REFUSED),
    (names.ENV_CONTEXT_MISSING, "", DEFAULT, False, REFUSED),
    # booleans: ours only, so synth accepts every spelling the layer reads
    (names.ENV_CAPTURE_ERROR, "yes", True, False, OK),
    (names.ENV_CAPTURE_ERROR, "No", False, False, OK),
    (names.ENV_CAPTURE_ERROR, "FALSE", False, False, OK),
    (names.ENV_CAPTURE_ERROR, "maybe", DEFAULT, True, REFUSED),
    (names.ENV_CAPTURE_ERROR, "", DEFAULT, False, REFUSED),
    (names.ENV_CAPTURE_RESPONSE, "1", True, False, OK),
    (names.ENV_CAPTURE_RESPONSE, "true", True, False, OK),
    (names.ENV_DISABLED, "on", True, False, OK),
    (names.ENV_DISABLED, "off", False, False, OK),
    (names.ENV_OTLP_UNSAMPLED, "yes", True, False, OK),
    (names.ENV_CAPTURE_SQL, "0", False, False, OK),
    (names.ENV_CAPTURE_SQL, "enabled", DEFAULT, True, REFUSED),
    # choices
    (names.ENV_FORMAT, "OTLP", "otlp", False, OK),
    (names.ENV_FORMAT, "xray", "xray", False, OK),
    (names.ENV_FORMAT, "zipkin", DEFAULT, True, REFUSED),
    (names.ENV_AWS_NAMES, "SDK", "sdk", False, OK),
    (names.ENV_AWS_NAMES, "lowercase", DEFAULT, True, REFUSED),
    # service name: any text; the layer cuts it to the annotation limit
    (names.ENV_SERVICE_NAME, "orders", "orders", False, OK),
    (names.ENV_SERVICE_NAME, "x" * 1001, "x" * 1000, False, REFUSED),
    (names.ENV_SERVICE_NAME, "  ", DEFAULT, False, REFUSED),
]

DEFAULTS: dict[str, Any] = {
    names.ENV_DAEMON_ADDRESS: ("127.0.0.1", 2000),
    names.ENV_CONTEXT_MISSING: "LOG_ERROR",
    names.ENV_CAPTURE_ERROR: True,
    names.ENV_CAPTURE_RESPONSE: False,
    names.ENV_DISABLED: False,
    names.ENV_OTLP_UNSAMPLED: False,
    names.ENV_CAPTURE_SQL: False,
    names.ENV_FORMAT: "xray",
    names.ENV_AWS_NAMES: "layer",
    names.ENV_SERVICE_NAME: "checkout-fn",
}

SETTING = {
    names.ENV_DAEMON_ADDRESS: "daemon_address",
    names.ENV_CONTEXT_MISSING: "context_missing",
    names.ENV_CAPTURE_ERROR: "capture_error",
    names.ENV_CAPTURE_RESPONSE: "capture_response",
    names.ENV_DISABLED: "disabled",
    names.ENV_OTLP_UNSAMPLED: "otlp_unsampled",
    names.ENV_CAPTURE_SQL: "capture_sql",
    names.ENV_FORMAT: "format",
    names.ENV_AWS_NAMES: "aws_names",
    names.ENV_SERVICE_NAME: "service",
}


def _id(case: tuple[str, str, Any, bool, bool]) -> str:
    return f"{case[0]}={case[1][:30]!r}"


@pytest.mark.parametrize("case", CASES, ids=[_id(c) for c in CASES])
def test_the_layer_reads_the_value_as_the_table_says(
    case: tuple[str, str, Any, bool, bool], caplog: pytest.LogCaptureFixture
) -> None:
    name, raw, expected, warns, _ = case
    _log.forget()
    with caplog.at_level(logging.WARNING, logger="lambda_xray"):
        settings = config.from_environ({name: raw, "AWS_LAMBDA_FUNCTION_NAME": "checkout-fn"})
    wanted = DEFAULTS[name] if expected is DEFAULT else expected
    assert getattr(settings, SETTING[name]) == wanted
    warnings = [r.getMessage() for r in caplog.records if name in r.getMessage()]
    assert len(warnings) == (1 if warns else 0), warnings
    if warns:
        assert repr(raw) in warnings[0] and grammar.GRAMMAR[name][3] in warnings[0]


@pytest.mark.parametrize("case", CASES, ids=[_id(c) for c in CASES])
def test_synth_accepts_or_refuses_the_value_as_the_table_says(
    case: tuple[str, str, Any, bool, bool],
) -> None:
    name, raw, _, _, accepted = case
    found = value_problem(name, raw)
    assert (found is None) == accepted, found
    if found is not None:
        problem, fix = found
        assert problem.startswith(f"{name}={raw[:80]!r} ")
        assert name in fix


@pytest.mark.parametrize("raw", ["app.handler", "src/app.handler", "pkg.sub.app.handler"], ids=repr)
def test_a_handler_the_layer_can_load_passes_at_synth(raw: str) -> None:
    assert grammar.handler_name(raw) is not None
    assert value_problem(names.ENV_HANDLER, raw) is None


@pytest.mark.parametrize("raw", ["index", ".handler", "app.", "sys.exit"], ids=repr)
def test_a_handler_the_wrapper_refuses_is_refused_at_synth(raw: str) -> None:
    with pytest.raises(handler.HandlerError):  # the invocation fails with a Runtime.* error
        handler.load_handler(raw)
    found = value_problem(names.ENV_HANDLER, raw)
    assert found is not None and "is not a Python handler" in found[0]


HANDLERS = [
    "app.handler",
    "src/app.handler",
    "pkg.sub.app.handler",
    "index",
    ".handler",
    "app.",
    "app.my-handler",
    "a..b.handler",
    "a//b.handler",
    "sys.exit",
    "app.handler\n",
    "a\nb.handler",
    " app.handler",
]


@pytest.mark.parametrize("raw", HANDLERS, ids=repr)
def test_the_handler_prop_and_the_handler_variable_follow_one_grammar(raw: str) -> None:
    from cdk_lambda_xray._lambda_inputs import handler_problem

    assert (handler_problem(raw, python=True) is None) == (grammar.handler_name(raw) is not None)


# -- where synth is stricter, the reason holds for the real aws-xray-sdk ------------------


def _stricter(variable: str) -> list[str]:
    """Values of ``variable`` the layer reads without a warning but synth refuses (not blank)."""
    return [
        raw
        for name, raw, expected, warns, accepted in CASES
        if name == variable and raw.strip() and expected is not DEFAULT and not accepted
    ]


@pytest.mark.parametrize("raw", _stricter(names.ENV_DAEMON_ADDRESS), ids=repr)
def test_a_daemon_address_synth_refuses_breaks_aws_xray_sdk(raw: str) -> None:
    with pytest.raises(InvalidDaemonAddressException):
        DaemonConfig(raw)


@pytest.mark.parametrize(
    "raw",
    [raw for name, raw, _, _, ok in CASES if name == names.ENV_DAEMON_ADDRESS and ok],
    ids=repr,
)
def test_a_daemon_address_synth_accepts_is_read_alike_by_aws_xray_sdk(raw: str) -> None:
    sdk = DaemonConfig(raw)
    assert (sdk.udp_ip, sdk.udp_port) == config.parse_daemon_address(raw)


@pytest.mark.parametrize("raw", _stricter(names.ENV_CONTEXT_MISSING), ids=repr)
def test_a_context_missing_spelling_synth_refuses_is_no_strategy_to_aws_xray_sdk(
    raw: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(names.ENV_CONTEXT_MISSING, raw)
    assert Context().context_missing not in SUPPORTED_CONTEXT_MISSING
    assert config.from_environ({names.ENV_CONTEXT_MISSING: raw}).context_missing in (
        SUPPORTED_CONTEXT_MISSING
    )


def test_every_variable_the_layer_reads_is_in_the_grammar_and_the_table() -> None:
    assert set(grammar.GRAMMAR) == set(SETTING) | {names.ENV_HANDLER}
    assert {case[0] for case in CASES} == set(SETTING)


def test_every_stricter_row_names_a_variable_of_the_grammar_and_says_why() -> None:
    for variable, _, _, says, fix, why in SYNTH_STRICTER:
        assert variable == "*" or variable in grammar.GRAMMAR
        assert says and fix and len(why) > 40


# -- docs: one table, generated from the grammar; the constructs reference links to it -----


def test_docs_layer_md_has_one_row_per_variable_from_the_grammar() -> None:
    docs = (REPO_ROOT / "docs" / "layer.md").read_text()
    for name, (_, default, _, accepts) in grammar.GRAMMAR.items():
        synth = synth_accepts(name)
        synth_cell = "same" if synth == accepts else synth
        row = f"| `{name}` | {default} | {accepts} | {synth_cell} |"
        assert row in docs, f"docs/layer.md is out of date for {name}: expected {row}"


def test_docs_constructs_md_links_to_the_table_instead_of_repeating_it() -> None:
    docs = (REPO_ROOT / "docs" / "constructs.md").read_text()
    assert "layer.md#environment-values" in docs
    assert "| `AWS_XRAY_DAEMON_ADDRESS` |" not in docs
