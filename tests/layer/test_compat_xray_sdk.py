"""``lambda_xray.compat.xray_recorder``: aws-xray-sdk's recorder calls on the layer's recorder.

In-process with ``lambda_xray.testing`` (the handlers of ``lx_compat_apps`` run
under awslambdaric in ``test_compat_runtime``). Also the
``LAMBDA_XRAY_AWS_NAMES`` switch, with real botocore clients against a local
canned HTTP server.
"""

from __future__ import annotations

import asyncio
import json
import logging
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3  # type: ignore[import-untyped]
import pytest
from botocore.config import Config  # type: ignore[import-untyped]
from lx_servers import CannedServer, aws_json_ok

from lambda_xray import config
from lambda_xray.compat import patch, patch_all, xray_recorder
from lambda_xray.context_missing import ContextMissingError
from lambda_xray.testing import InMemoryEmitter, invocation, trace_header

LAYER_PYTHON = Path(__file__).resolve().parents[2] / "layers" / "lambda_xray" / "python"


@pytest.fixture
def xray(layer: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[InMemoryEmitter]:
    monkeypatch.delenv("LAMBDA_XRAY_AWS_NAMES", raising=False)
    with InMemoryEmitter() as emitter:
        yield emitter


def layer_records(caplog: pytest.LogCaptureFixture, level: int) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "lambda_xray" and r.levelno == level]


def children(xray: InMemoryEmitter, name: str) -> list[str]:
    (parent,) = xray.named(name)
    return [doc["name"] for doc in xray.children_of(parent)]


# -- recording ---------------------------------------------------------------------------


def test_capture_records_each_call_named_as_the_sdk_names_it(xray: InMemoryEmitter) -> None:
    @xray_recorder.capture("load")
    def load() -> int:
        xray_recorder.put_annotation("rows", 3)
        return 3

    @xray_recorder.capture()
    def transform(rows: int) -> int:
        return rows * 2

    @xray_recorder.capture
    def bare() -> None:
        pass

    with invocation():
        assert transform(load()) == 6
        bare()
    assert children(xray, "## test") == ["load", "transform", "bare"]
    (load_doc,) = xray.named("load")
    assert load_doc["annotations"] == {"rows": 3}
    assert transform.__name__ == "transform"  # the decorated function keeps its name


def test_capture_async_and_in_subsegment_async_time_the_awaited_work(
    xray: InMemoryEmitter,
) -> None:
    @xray_recorder.capture_async("fetch")
    async def fetch(i: int) -> int:
        await asyncio.sleep(0.01)
        return i

    async def main() -> list[int]:
        async with xray_recorder.in_subsegment_async("batch") as subsegment:
            subsegment.put_annotation("size", 3)
            return list(await asyncio.gather(*(fetch(i) for i in range(3))))

    with invocation():
        assert asyncio.run(main()) == [0, 1, 2]
    assert children(xray, "batch") == ["fetch", "fetch", "fetch"]
    for doc in xray.named("fetch"):
        assert doc["end_time"] - doc["start_time"] >= 0.009


def test_in_subsegment_yields_the_subsegment_and_records_an_exception_as_fault(
    xray: InMemoryEmitter,
) -> None:
    error = KeyError("sku")
    with (
        invocation(),
        pytest.raises(KeyError) as raised,
        xray_recorder.in_subsegment("lookup") as subsegment,
    ):
        subsegment.put_annotation("sku", "a-1")
        subsegment.put_metadata("query", {"limit": 5}, "catalog")
        assert xray_recorder.current_subsegment().id == subsegment.id
        raise error
    assert raised.value is error  # the same exception, unchanged
    (doc,) = xray.named("lookup")
    assert doc["fault"] is True and doc["cause"]["exceptions"][0]["type"] == "KeyError"
    assert doc["annotations"] == {"sku": "a-1"}
    assert doc["metadata"] == {"catalog": {"query": {"limit": 5}}}


def test_begin_and_end_subsegment_nest_and_restore_the_current_subsegment(
    xray: InMemoryEmitter,
) -> None:
    with invocation() as root:
        assert root is not None
        outer = xray_recorder.begin_subsegment("outer")
        inner = xray_recorder.begin_subsegment("inner", namespace="remote")
        assert xray_recorder.get_trace_entity().id == inner.id
        inner.add_error_flag()
        xray_recorder.end_subsegment()
        assert xray_recorder.current_subsegment().id == outer.id
        xray_recorder.put_metadata("done", True)
        xray_recorder.end_subsegment()
        assert xray_recorder.current_subsegment().id == root.id
        xray_recorder.end_subsegment()  # nothing left open: nothing happens
        assert xray_recorder.current_segment().trace_id == root.trace_id
        assert xray_recorder.is_sampled() is True
    (inner_doc,) = xray.named("inner")
    (outer_doc,) = xray.named("outer")
    assert inner_doc["parent_id"] == outer_doc["id"] and outer_doc["parent_id"] == root.id
    assert inner_doc["namespace"] == inner.namespace == "remote" and inner_doc["error"] is True
    assert outer.namespace == "local"
    assert "namespace" not in outer_doc  # the SDK's "local" is the layer's default
    assert outer_doc["metadata"] == {"default": {"done": True}}


def test_a_subsegment_left_open_by_an_earlier_invocation_is_not_ended_by_the_next(
    xray: InMemoryEmitter,
) -> None:
    with invocation():
        xray_recorder.begin_subsegment("forgotten")
    with invocation():
        xray_recorder.begin_subsegment("step")
        xray_recorder.end_subsegment()
        xray_recorder.end_subsegment()
    assert xray.names().count("step") == 1
    assert not xray.named("forgotten")  # never ended, never sent (as with the SDK)


def test_add_exception_on_the_current_subsegment_marks_a_handled_failure(
    xray: InMemoryEmitter,
) -> None:
    with invocation(), xray_recorder.in_subsegment("retry"):
        try:
            raise TimeoutError("upstream slow")
        except TimeoutError as exc:
            xray_recorder.current_subsegment().add_exception(exc, None)
    (doc,) = xray.named("retry")
    assert doc["fault"] is True
    assert doc["cause"]["exceptions"][0]["type"] == "TimeoutError"


def test_an_unsampled_invocation_records_nothing_and_every_call_still_works(
    xray: InMemoryEmitter, caplog: pytest.LogCaptureFixture
) -> None:
    @xray_recorder.capture("work")
    def work() -> str:
        return "done"

    with invocation(header=trace_header(sampled=False)):
        assert work() == "done"
        with xray_recorder.in_subsegment("block") as subsegment:
            subsegment.put_annotation("k", 1)
            assert not subsegment
        begun = xray_recorder.begin_subsegment("manual")
        begun.put_metadata("k", 1)
        xray_recorder.end_subsegment()
        xray_recorder.put_annotation("k", 1)
        assert xray_recorder.is_sampled() is False
    assert xray.documents == []
    assert layer_records(caplog, logging.WARNING) == []


# -- no active segment: the layer's context-missing strategy -----------------------------


@pytest.fixture
def ended(xray: InMemoryEmitter) -> InMemoryEmitter:
    """An invocation ran and ended: later recording is context missing."""
    with invocation():
        pass
    xray.clear()
    config.reset()
    return xray


def calls_outside() -> None:
    xray_recorder.begin_subsegment("late")
    with xray_recorder.in_subsegment("late block"):
        pass
    xray_recorder.put_annotation("k", "v")
    xray_recorder.current_subsegment().put_annotation("k", "v")


def test_log_error_logs_once_and_records_nothing(
    ended: InMemoryEmitter, caplog: pytest.LogCaptureFixture
) -> None:
    calls_outside()
    calls_outside()
    (record,) = layer_records(caplog, logging.ERROR)
    assert "its invocation is not active" in record.getMessage()
    assert ended.documents == []


def test_runtime_error_raises_at_each_recording_call(
    ended: InMemoryEmitter, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_XRAY_CONTEXT_MISSING", "RUNTIME_ERROR")
    with pytest.raises(ContextMissingError):
        xray_recorder.begin_subsegment("late")
    with pytest.raises(ContextMissingError), xray_recorder.in_subsegment("late"):
        pass
    with pytest.raises(ContextMissingError):
        xray_recorder.put_metadata("k", "v")
    with pytest.raises(ContextMissingError):
        xray_recorder.current_subsegment()


def test_ignore_error_is_silent_and_so_is_init(
    layer: None, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    with InMemoryEmitter() as xray:
        calls_outside()  # Init: before the first invocation, in every mode
        with invocation():
            pass
        monkeypatch.setenv("AWS_XRAY_CONTEXT_MISSING", "IGNORE_ERROR")
        config.reset()
        calls_outside()
        thread = threading.Thread(target=calls_outside)
        thread.start()
        thread.join()
    assert [d["name"] for d in xray.documents] == ["## test"]
    assert layer_records(caplog, logging.ERROR) == []


# -- unsupported calls, patching ---------------------------------------------------------


def test_unsupported_calls_warn_once_each_naming_the_call_and_never_raise(
    xray: InMemoryEmitter, caplog: pytest.LogCaptureFixture
) -> None:
    with invocation():
        for _ in range(2):
            assert xray_recorder.begin_segment("mine") is not None
            xray_recorder.end_segment()
            xray_recorder.stream_subsegments()
            with xray_recorder.in_subsegment("x") as subsegment:
                subsegment.set_user("alice")
                subsegment.put_http_meta("url", "https://example.com/")
            xray_recorder.begin_subsegment("y")
            xray_recorder.end_subsegment(end_time=1.0)
            with xray_recorder.in_segment("z"):
                pass
    warnings = [r.getMessage() for r in layer_records(caplog, logging.WARNING)]
    assert len(warnings) == 7, warnings
    for call in (
        "xray_recorder.begin_segment()",
        "xray_recorder.end_segment()",
        "xray_recorder.stream_subsegments()",
        "subsegment.set_user()",
        "subsegment.put_http_meta()",
        "xray_recorder.end_subsegment(end_time=...)",
        "xray_recorder.in_segment()",
    ):
        (message,) = [w for w in warnings if call in w]
        assert "docs/migrating.md" in message and "Not supported" in message
    assert xray.names().count("y") == 2  # the subsegment itself still closes
    assert xray.names().count("z") == 2  # in_segment's block still runs as a subsegment


def test_the_sdk_thread_pattern_works_and_its_entity_calls_are_not_needed(
    xray: InMemoryEmitter, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="lambda_xray")

    def worker(entity: Any, index: int) -> None:
        xray_recorder.set_trace_entity(entity)  # what SDK users write in threads
        with xray_recorder.in_subsegment(f"worker-{index}"):
            pass
        xray_recorder.clear_trace_entities()

    with invocation(), xray_recorder.in_subsegment("fan-out"):
        entity = xray_recorder.get_trace_entity()
        threads = [threading.Thread(target=worker, args=(entity, i)) for i in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert sorted(children(xray, "fan-out")) == ["worker-0", "worker-1", "worker-2"]
    infos = [r.getMessage() for r in layer_records(caplog, logging.INFO)]
    assert len(infos) == 2 and all("is not needed" in m for m in infos)
    assert layer_records(caplog, logging.WARNING) == []


def test_patch_all_and_patch_say_once_that_the_layer_patches_clients_itself(
    xray: InMemoryEmitter, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="lambda_xray")
    for _ in range(2):
        patch_all()
        patch(["botocore", "requests", "httplib"])
        patch(("pg8000",))  # aws-xray-sdk patches it; the layer does not
        xray_recorder.configure(service="orders", context_missing="LOG_ERROR")
    infos = [r.getMessage() for r in layer_records(caplog, logging.INFO)]
    assert len(infos) == 3, infos
    assert any("patch_all() does nothing" in m and "botocore.client" in m for m in infos)
    assert any("configure(context_missing, service) is ignored" in m for m in infos)
    (warning,) = [r.getMessage() for r in layer_records(caplog, logging.WARNING)]
    assert "pg8000" in warning and "docs/migrating.md" in warning


# -- LAMBDA_XRAY_AWS_NAMES ---------------------------------------------------------------


@pytest.fixture(scope="module")
def canned() -> Iterator[CannedServer]:
    with CannedServer({"ok": aws_json_ok({}, "REQ-OK")}) as server:
        yield server


def call_aws(url: str) -> None:
    session = boto3.session.Session(
        aws_access_key_id="test", aws_secret_access_key="test", region_name="eu-west-1"
    )
    config_ = Config(retries={"total_max_attempts": 1}, connect_timeout=2, read_timeout=5)
    for service, operation, params in (
        ("dynamodb", "get_item", {"TableName": "t", "Key": {"pk": {"S": "1"}}}),
        ("stepfunctions", "list_state_machines", {}),
        ("sqs", "list_queues", {}),
        ("cloudwatch", "list_dashboards", {}),
    ):
        client = session.client(service, endpoint_url=url + "/ok", config=config_)
        getattr(client, operation)(**params)


def aws_names(xray: InMemoryEmitter) -> list[str]:
    return [d["name"] for d in xray.documents if d.get("namespace") == "aws"]


@pytest.mark.parametrize(
    ("value", "names"),
    [
        (None, ["DynamoDB", "SFN", "SQS", "CloudWatch"]),
        ("layer", ["DynamoDB", "SFN", "SQS", "CloudWatch"]),
        # aws-xray-sdk 2.15 names a call after the endpoint prefix (ext/botocore/patch.py).
        ("sdk", ["dynamodb", "states", "sqs", "monitoring"]),
        ("SDK", ["dynamodb", "states", "sqs", "monitoring"]),
    ],
)
def test_aws_names_switch_chooses_the_layer_or_the_sdk_names(
    value: str | None,
    names: list[str],
    xray: InMemoryEmitter,
    canned: CannedServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if value is not None:
        monkeypatch.setenv("LAMBDA_XRAY_AWS_NAMES", value)
    config.reset()
    with invocation():
        call_aws(canned.url)
    assert aws_names(xray) == names


def test_a_bad_aws_names_value_warns_once_and_keeps_the_layer_names(
    xray: InMemoryEmitter,
    canned: CannedServer,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("LAMBDA_XRAY_AWS_NAMES", "lowercase")
    config.reset()
    with invocation():
        call_aws(canned.url)
    assert aws_names(xray) == ["DynamoDB", "SFN", "SQS", "CloudWatch"]
    (warning,) = layer_records(caplog, logging.WARNING)
    assert "LAMBDA_XRAY_AWS_NAMES='lowercase' is not one of layer, sdk" in warning.getMessage()


def test_names_follow_the_settings_when_they_change_in_one_process(
    xray: InMemoryEmitter, canned: CannedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LAMBDA_XRAY_AWS_NAMES", "sdk")
    config.reset()
    with invocation():
        call_aws(canned.url)
    monkeypatch.delenv("LAMBDA_XRAY_AWS_NAMES")
    config.reset()
    with invocation():
        call_aws(canned.url)
    names = aws_names(xray)
    assert names[:4] == ["dynamodb", "states", "sqs", "monitoring"]
    assert names[4:] == ["DynamoDB", "SFN", "SQS", "CloudWatch"]


# -- cold start --------------------------------------------------------------------------


def test_compat_is_loaded_only_when_imported_and_loads_no_third_party_module() -> None:
    code = (
        "import sys\n"
        "before = set(sys.modules)\n"
        "import lambda_xray, lambda_xray.handler\n"
        "assert not [m for m in sys.modules if m.startswith('lambda_xray.compat')]\n"
        "from lambda_xray.compat import Tracer, xray_recorder\n"
        "loaded = set(sys.modules) - before\n"
        "outside = sorted(m for m in loaded if not m.startswith(('lambda_xray', '_')))\n"
        "import json; print(json.dumps(outside))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={"PYTHONPATH": str(LAYER_PYTHON)},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    outside = set(json.loads(out))
    # The recorder's own imports (as for any traced call) and nothing else:
    # no aws_xray_sdk, no wrapt, no inspect, no logging, no typing.
    assert outside <= {"contextvars"}, outside


@pytest.mark.parametrize("mode", ["LOG_ERROR", "RUNTIME_ERROR"])
def test_invalid_annotations_and_metadata_are_dropped_never_raised_as_the_sdk_does(
    mode: str,
    xray: InMemoryEmitter,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("AWS_XRAY_CONTEXT_MISSING", mode)
    config.reset()
    with invocation(), xray_recorder.in_subsegment("block") as subsegment:
        xray_recorder.put_annotation("bad-key", 1)
        xray_recorder.put_annotation("list", [1, 2])
        subsegment.put_annotation("bad key", "v")
        subsegment.put_metadata("k", 1, "AWS.reserved")
        xray_recorder.put_metadata("k", 1, "AWS.reserved")
        subsegment.put_annotation("good", 1)
    (doc,) = xray.named("block")
    assert doc["annotations"] == {"good": 1} and "metadata" not in doc
    assert layer_records(caplog, logging.WARNING)  # said, once per kind of problem
