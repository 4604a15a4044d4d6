"""Work in threads and asyncio tasks attaches to the invocation that started it."""

from __future__ import annotations

import asyncio
import importlib
import textwrap
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from lambda_xray import _recorder, context, handler, subsegment
from lambda_xray.testing import InMemoryEmitter, invocation

Check = Callable[[list[dict[str, Any]]], None]
SAMPLED = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"


@pytest.fixture
def xray(layer: None) -> Iterator[InMemoryEmitter]:
    with InMemoryEmitter() as emitter:
        yield emitter


def client_call(name: str) -> str | None:
    """What a patched client does: a leaf subsegment and the header it would send."""
    sub = _recorder.begin_subsegment(name, "aws")
    header = _recorder.outgoing_trace_header(sub)
    if sub is not None:
        _recorder.end_subsegment(sub, status=200)
    return header


THREADED_APP = """
from concurrent.futures import ThreadPoolExecutor
from lambda_xray import _recorder


def call(name):
    sub = _recorder.begin_subsegment(name, "aws")
    _recorder.end_subsegment(sub, status=200)
    return sub.id


def handler(event, context):
    with ThreadPoolExecutor(max_workers=4) as pool:
        return list(pool.map(call, [f"part {i}" for i in range(8)]))
"""


def test_thread_pool_work_in_a_handler_attaches_to_the_invocation(
    handler_dir: Path,
    collector: Any,
    monkeypatch: pytest.MonkeyPatch,
    assert_valid: Check,
    caplog: pytest.LogCaptureFixture,
) -> None:
    (handler_dir / "threaded.py").write_text(textwrap.dedent(THREADED_APP))
    importlib.invalidate_caches()
    monkeypatch.setenv("LAMBDA_XRAY_HANDLER", "threaded.handler")
    monkeypatch.setenv("_X_AMZN_TRACE_ID", SAMPLED)
    ids = handler.handler({}, None)
    docs = collector.wait_for(lambda d: len(d) >= 9, timeout=5)
    assert_valid(docs)
    (root,) = [d for d in docs if d["name"] == "## threaded.handler"]
    parts = [d for d in docs if d["name"].startswith("part ")]
    assert sorted(d["id"] for d in parts) == sorted(ids)
    assert {d["parent_id"] for d in parts} == {root["id"]}
    assert not [r for r in caplog.records if r.name == "lambda_xray"]


def test_a_plain_thread_attaches_to_the_invocation(xray: InMemoryEmitter) -> None:
    headers: list[str | None] = []
    with invocation() as root:
        worker = threading.Thread(target=lambda: headers.append(client_call("S3")))
        worker.start()
        worker.join()
    assert root is not None
    (s3,) = xray.named("S3")
    assert s3["parent_id"] == root.id
    assert headers == [f"Root={root.trace_id};Parent={s3['id']};Sampled=1"]


def test_subsegments_opened_inside_a_thread_nest_within_that_thread(
    xray: InMemoryEmitter,
) -> None:
    def work(i: int) -> None:
        with subsegment(f"chunk {i}"):
            client_call(f"upload {i}")

    with invocation(), ThreadPoolExecutor(max_workers=3) as pool:
        list(pool.map(work, range(6)))
    for i in range(6):
        (chunk,) = xray.named(f"chunk {i}")
        (upload,) = xray.named(f"upload {i}")
        assert upload["parent_id"] == chunk["id"]


def test_work_left_running_after_the_invocation_is_context_missing(
    xray: InMemoryEmitter, caplog: pytest.LogCaptureFixture
) -> None:
    release = threading.Event()
    results: list[str | None] = []

    def late() -> None:
        release.wait(5)
        results.append(client_call("late"))

    with invocation():
        worker = threading.Thread(target=late)
        worker.start()
    release.set()
    worker.join()
    assert results == [None]
    assert "late" not in xray.names()
    assert "cannot record 'late'" in caplog.text


def test_a_stale_subsegment_in_a_reused_thread_is_not_used_by_the_next_invocation(
    xray: InMemoryEmitter,
) -> None:
    with ThreadPoolExecutor(max_workers=1) as pool:
        with invocation("first"):
            # A scope entered and never exited leaves its subsegment in the worker's context.
            pool.submit(lambda: subsegment("abandoned").__enter__()).result()
        with invocation("second") as second:
            pool.submit(client_call, "after").result()
    assert second is not None
    (after,) = xray.named("after")
    assert after["parent_id"] == second.id


def test_asyncio_tasks_follow_their_own_subsegments(
    xray: InMemoryEmitter, assert_valid: Check
) -> None:
    async def job(i: int) -> None:
        async with subsegment(f"job {i}"):
            await asyncio.sleep(0.01 * (3 - i))
            client_call(f"call {i}")
            await asyncio.sleep(0)

    async def main() -> None:
        await asyncio.gather(*(job(i) for i in range(3)))
        client_call("after gather")

    with invocation() as root:
        asyncio.run(main())
    assert root is not None
    assert_valid(xray.documents)
    for i in range(3):
        (job_doc,) = xray.named(f"job {i}")
        (call_doc,) = xray.named(f"call {i}")
        assert call_doc["parent_id"] == job_doc["id"]
        assert job_doc["parent_id"] == root.id
    (after,) = xray.named("after gather")
    assert after["parent_id"] == root.id


def test_an_asyncio_task_outliving_its_invocation_records_nothing(
    xray: InMemoryEmitter, caplog: pytest.LogCaptureFixture
) -> None:
    loop = asyncio.new_event_loop()
    try:
        with invocation():
            task = loop.create_task(asyncio.sleep(0.01))
            leftover = loop.create_task(_late_call())
            loop.run_until_complete(task)
        assert loop.run_until_complete(leftover) is None
    finally:
        loop.close()
    assert "late task" not in xray.names()
    assert context.active is None


async def _late_call() -> str | None:
    await asyncio.sleep(0.05)
    return client_call("late task")
