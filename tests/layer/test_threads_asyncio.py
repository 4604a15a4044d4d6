"""Work in threads and asyncio tasks attaches to the invocation that started it."""

from __future__ import annotations

import asyncio
import gc
import importlib
import textwrap
import threading
import weakref
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from lambda_xray import _recorder, context, handler, subsegment
from lambda_xray.testing import InMemoryEmitter, invocation

Check = Callable[[list[dict[str, Any]]], None]
ROOT_ID = "1-5759e988-bd862e3fe1be46a994272793"
SAMPLED = f"Root={ROOT_ID};Parent=53995c3f42cd8ad8;Sampled=1"


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
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
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


class _S3Multipart(BaseHTTPRequestHandler):
    """Just enough S3 (path-style) for a multipart upload: create, parts, complete."""

    protocol_version = "HTTP/1.1"
    trace_headers: ClassVar[list[str | None]] = []

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _answer(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        type(self).trace_headers.append(self.headers.get("X-Amzn-Trace-Id"))
        query = self.path.partition("?")[2]
        body = b""
        if "uploads" in query.split("&"):
            body = (
                b"<InitiateMultipartUploadResult><Bucket>b</Bucket><Key>k</Key>"
                b"<UploadId>u1</UploadId></InitiateMultipartUploadResult>"
            )
        elif "uploadId=" in query and "partNumber=" not in query:
            body = (
                b"<CompleteMultipartUploadResult><Bucket>b</Bucket><Key>k</Key>"
                b'<ETag>"e"</ETag></CompleteMultipartUploadResult>'
            )
        self.send_response(200)
        self.send_header("ETag", '"e"')
        self.send_header("x-amz-request-id", "REQ")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_PUT = do_POST = _answer


S3_APP = """
import io
import boto3
from boto3.s3.transfer import TransferConfig

def handler(event, context):
    s3 = boto3.client("s3", endpoint_url=event["endpoint"], region_name="us-east-1")
    config = TransferConfig(multipart_threshold=5 * 2**20, multipart_chunksize=5 * 2**20,
                            max_concurrency=3)
    s3.upload_fileobj(io.BytesIO(b"x" * (15 * 2**20)), "bucket", "key", Config=config)
    return "uploaded"
"""


def test_s3_transfer_manager_threads_attach_to_the_invocation(
    handler_dir: Path,
    collector: Any,
    monkeypatch: pytest.MonkeyPatch,
    assert_valid: Check,
    caplog: pytest.LogCaptureFixture,
) -> None:
    pytest.importorskip("boto3")
    for name, value in {
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_REGION": "us-east-1",
        "LAMBDA_XRAY_HANDLER": "s3app.handler",
        "_X_AMZN_TRACE_ID": SAMPLED,
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    (handler_dir / "s3app.py").write_text(textwrap.dedent(S3_APP))
    importlib.invalidate_caches()
    _S3Multipart.trace_headers = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _S3Multipart)
    server.daemon_threads = True
    serving = threading.Thread(target=server.serve_forever, daemon=True)
    serving.start()
    try:
        endpoint = f"http://127.0.0.1:{server.server_address[1]}"
        assert handler.handler({"endpoint": endpoint}, None) == "uploaded"
    finally:
        server.shutdown()
        server.server_close()
    docs = collector.wait_for(lambda d: any(x["name"].startswith("## ") for x in d), timeout=10)
    assert_valid(docs)
    (root,) = [d for d in docs if d["name"] == "## s3app.handler"]
    calls = [d for d in docs if d.get("namespace") == "aws"]
    operations = sorted(d["aws"]["operation"] for d in calls)
    assert operations == [
        "CompleteMultipartUpload",
        "CreateMultipartUpload",
        "UploadPart",
        "UploadPart",
        "UploadPart",
    ]
    assert {d["parent_id"] for d in calls} == {root["id"]}
    sent = {h for h in _S3Multipart.trace_headers if h}
    assert sent == {f"Root={ROOT_ID};Parent={d['id']};Sampled=1" for d in calls}
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


# -- threads and executors carry the current subsegment --------------------------------


def test_executor_work_inside_a_user_subsegment_nests_under_it(
    xray: InMemoryEmitter, assert_valid: Check
) -> None:
    with invocation() as root, subsegment("fan-out") as fan_out:
        with ThreadPoolExecutor(max_workers=3) as pool:
            submitted = pool.submit(client_call, "submitted").result()
            mapped = list(pool.map(client_call, [f"mapped {i}" for i in range(5)]))
        worker = threading.Thread(target=client_call, args=("thread",))
        worker.start()
        worker.join()
    assert root is not None and fan_out.subsegment is None  # closed
    assert_valid(xray.documents)
    (fan_out_doc,) = xray.named("fan-out")
    assert fan_out_doc["parent_id"] == root.id
    calls = [d for d in xray.documents if d.get("namespace") == "aws"]
    assert len(calls) == 7
    assert {d["parent_id"] for d in calls} == {fan_out_doc["id"]}
    for header in [submitted, *mapped]:
        assert header is not None and f"Root={root.trace_id};Parent=" in header


def test_only_the_layers_context_is_carried_into_threads(xray: InMemoryEmitter) -> None:
    from contextvars import ContextVar

    users: ContextVar[str] = ContextVar("users", default="unset")
    seen: list[str] = []
    with invocation():
        users.set("set in the handler")
        with ThreadPoolExecutor(max_workers=1) as pool:
            pool.submit(lambda: seen.append(users.get())).result()
        worker = threading.Thread(target=lambda: seen.append(users.get()))
        worker.start()
        worker.join()
    assert seen == ["unset", "unset"]  # as Python itself does it


def test_the_thread_patches_are_applied_once_and_marked() -> None:
    import concurrent.futures.thread

    from lambda_xray import threads

    for _ in range(2):
        threads.patch(threading)
        threads.patch(concurrent.futures.thread)
    start = threading.Thread.start
    submit = ThreadPoolExecutor.submit
    for wrapper in (start, submit):
        assert getattr(wrapper, threads.MARK) is True
        assert not getattr(wrapper.__wrapped__, threads.MARK, False)  # type: ignore[attr-defined]


def test_a_carried_thread_leaves_nothing_behind(xray: InMemoryEmitter) -> None:
    with invocation():
        worker = threading.Thread(target=client_call, args=("once",))
        worker.start()
        with pytest.raises(RuntimeError, match="only be started once"):
            worker.start()  # the second start fails as it would without the layer
        worker.join()
    assert "run" not in worker.__dict__  # the carrier removed itself: no reference cycle
    assert xray.names().count("once") == 1


def test_a_finished_carried_thread_is_freed_without_the_collector(xray: InMemoryEmitter) -> None:
    """No reference cycle through the carrier: the thread goes when its last name does."""
    gc.disable()
    try:
        with invocation():
            worker = threading.Thread(target=client_call, args=("freed",))
            worker.start()
            worker.join()
            gone = weakref.ref(worker)
            del worker
        assert gone() is None
    finally:
        gc.enable()
    assert xray.names().count("freed") == 1


def test_threads_started_outside_an_invocation_are_left_alone(layer: None) -> None:
    from lambda_xray import threads

    with InMemoryEmitter():
        assert threads.capture() is None  # Init: nothing to carry
        with invocation():
            pass
        assert threads.capture() is None  # between invocations: nothing either


# -- a leftover thread never records into a later invocation ----------------------------


@pytest.mark.parametrize("sampled", [True, False])
def test_a_leftover_thread_never_lands_in_the_next_invocations_trace(
    sampled: bool, xray: InMemoryEmitter, caplog: pytest.LogCaptureFixture, assert_valid: Check
) -> None:
    go = threading.Event()
    seen: list[str | None] = []

    def leftover() -> None:
        go.wait(5)
        seen.append(client_call("leftover call"))
        with subsegment("leftover block") as scope:
            seen.append(None if scope.subsegment is None else "recorded")

    first = trace_header(sampled)
    with invocation("first", header=first):
        worker = threading.Thread(target=leftover)
        worker.start()
    with invocation("second") as second:
        go.set()
        worker.join()
        client_call("own call")
    assert second is not None
    assert seen == [None, None]  # no outgoing header, nothing recorded
    assert "leftover call" not in xray.names() and "leftover block" not in xray.names()
    (own,) = xray.named("own call")
    assert own["parent_id"] == second.id
    assert {d["trace_id"] for d in xray.documents if d["name"] != "## first"} == {second.trace_id}
    assert "cannot record 'leftover call'" in caplog.text  # context missing, LOG_ERROR
    assert_valid(xray.documents)


def trace_header(sampled: bool) -> str:
    from lambda_xray import testing

    return testing.trace_header(sampled=sampled)
