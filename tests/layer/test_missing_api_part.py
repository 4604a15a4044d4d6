"""The user API on a layer without its part ``api``, under awslambdaric: a stand-in, no failure.

The planner gives a function the ``api`` part when its code (or a layer's)
names ``lambda_xray``; a use it cannot see (a package installed with pip) or
``layer_parts`` chosen by hand leaves the function on a layer without it. Then
``from lambda_xray import annotate, metadata, subsegment`` and ``import
lambda_xray.api`` give the do-nothing API of ``lambda_xray._untraced``, the
rest is traced, and the log says so once. Real parts only: the real
``awslambdaric`` against the test Runtime API server, the layer this checkout
built (assembled and copied read-only as a function gets it), a real HTTP call
to a local server, the documents over real UDP to the local collector.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "harness"))

from lx_built_layer import read_only_layer, traced_function
from lx_runtime_api import LambdaProcess, RuntimeApi, new_trace_id, trace_documents, trace_header
from lx_schema import validate_subsegment
from lx_servers import Canned, CannedServer

from cdk_lambda_xray import _bytecode
from cdk_lambda_xray.layer import layer_asset_path, layer_builds_path
from cdk_lambda_xray.local.collector import Collector

pytestmark = pytest.mark.timeout(180)

# Every way into the user API: the package's names, the module itself, decorator,
# context manager (sync and async), the scope's own methods.
APP = """
import asyncio
import os
import urllib.request

import lambda_xray.api as direct
from lambda_xray import annotate, metadata, subsegment
from lambda_xray.api import Scope  # in the API's __all__, for type hints

URL = os.environ["TEST_URL"]


@subsegment("work")
def work(n):
    annotate("step", "work")
    return n + 1


async def later():
    async with subsegment("later"):
        return 3


def handler(event, context):
    with subsegment("fetch") as scope:
        scope.annotate("tenant", "acme")
        scope.metadata("size", 3)
        metadata("request", {"n": 1})
        status = urllib.request.urlopen(URL + "/ok", timeout=5).status
    return {
        "status": status,
        "work": work(1),
        "later": asyncio.run(later()),
        "same": direct.subsegment is subsegment,
        "scope": isinstance(subsegment("x"), Scope),
    }
"""

SAID = "annotate, metadata and subsegment do nothing"
RESULT = {"status": 200, "work": 2, "later": 3, "same": True, "scope": True}


@pytest.fixture(scope="module")
def server() -> Iterator[CannedServer]:
    with CannedServer({"ok": Canned(200)}) as s:
        yield s


@pytest.fixture(scope="module")
def collector() -> Iterator[Collector]:
    with Collector() as c:
        yield c


@pytest.fixture(scope="module")
def task_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("task")
    (root / "app.py").write_text(APP)
    return root


def _call(api: RuntimeApi, proc: LambdaProcess) -> str:
    trace_id = new_trace_id()
    outcome = api.invoke({}, trace_id=trace_header(trace_id), timeout=30)
    assert outcome.kind == "response", proc.log()[-3000:]
    assert outcome.json() == RESULT
    return trace_id


def _named(docs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {str(d["name"]): d for d in docs}


def test_without_the_part_the_api_does_nothing_the_rest_is_traced_and_said_once(
    task_root: Path, server: CannedServer, collector: Collector, tmp_path: Path
) -> None:
    layer = read_only_layer(set(), tmp_path / "opt")
    with traced_function(
        layer, task_root, collector, tmp_path / "log", {"TEST_URL": server.url}
    ) as (api, proc):
        first = _call(api, proc)
        second = _call(api, proc)
        for trace_id in (first, second):
            docs = _named(
                trace_documents(collector, trace_id, 2, log=proc.log, timeout=10, settle=0.2)
            )
            # The handler and the HTTP call, nothing of the user API's scopes.
            assert sorted(docs) == ["## app.handler", "127.0.0.1"]
            assert docs["127.0.0.1"]["parent_id"] == docs["## app.handler"]["id"]
            for doc in docs.values():
                validate_subsegment(doc)
                assert {"tenant", "step"}.isdisjoint(doc.get("annotations", {}))
                assert "request" not in doc.get("metadata", {}).get("default", {})
        log = proc.log()
    said = [line for line in log.splitlines() if SAID in line]
    assert len(said) == 1, log[-3000:]
    assert "WARNING" in said[0]
    assert "the layer part 'api', which is missing from this function's layer version" in said[0]
    assert "add 'api' to layer_parts on the function's construct" in said[0]
    assert "Traceback" not in log


def test_with_the_part_the_annotations_are_in_the_documents_and_nothing_is_said(
    task_root: Path, server: CannedServer, collector: Collector, tmp_path: Path
) -> None:
    layer = read_only_layer({"api"}, tmp_path / "opt")
    with traced_function(
        layer, task_root, collector, tmp_path / "log", {"TEST_URL": server.url}
    ) as (api, proc):
        trace_id = _call(api, proc)
        docs = _named(trace_documents(collector, trace_id, 5, log=proc.log, timeout=10, settle=0.2))
        log = proc.log()
    assert sorted(docs) == ["## app.handler", "127.0.0.1", "fetch", "later", "work"]
    for doc in docs.values():
        validate_subsegment(doc)
    assert docs["fetch"]["annotations"] == {"tenant": "acme"}
    assert docs["fetch"]["parent_id"] == docs["## app.handler"]["id"]
    assert docs["fetch"]["metadata"]["default"] == {"size": 3, "request": {"n": 1}}
    assert docs["work"]["annotations"] == {"step": "work"}
    assert docs["127.0.0.1"]["parent_id"] == docs["fetch"]["id"]
    assert SAID not in log


# Each Python the layer is built for runs the stand-in from _untraced's source (compiled by
# that interpreter when the part turns out missing); no Lambda runtime, logging's last resort.
PROBE = """
import json, sys
sys.path.insert(0, sys.argv[1])
from lambda_xray import annotate, metadata, subsegment
import lambda_xray.api

@subsegment
def bare():
    return "bare"

@subsegment("named")
def named():
    annotate("k", "v")
    return "named"

with subsegment("block") as scope:
    scope.annotate("k", 1)
    metadata("m", {"x": 1})
try:
    import lambda_xray.compat
except ModuleNotFoundError as missing:
    compat = str(missing)
print(json.dumps([bare(), named(), scope.subsegment, compat, lambda_xray.api.__name__]))
"""


@pytest.mark.parametrize("minor", [10, 11, 12, 13])
def test_every_python_serves_the_stand_in_and_still_refuses_other_missing_parts(
    minor: int, tmp_path: Path
) -> None:
    python = _bytecode.find_interpreter(minor)
    if python is None:
        pytest.skip(f"no python3.{minor} here")
    builds = layer_builds_path()
    _bytecode.ensure_built(layer_asset_path(), builds)
    tree = _bytecode.assemble_layer(builds, f"python3.{minor}", frozenset())
    dest = tmp_path / "opt"
    shutil.copytree(tree, dest)
    for path in [dest, *dest.rglob("*")]:
        path.chmod(path.stat().st_mode & ~0o222)
    done = subprocess.run(
        [python, "-c", PROBE, str(dest / "python")],
        env={"PATH": "/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE": "1"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    bare, named, recorded, compat, name = json.loads(done.stdout)
    assert (bare, named, recorded, name) == ("bare", "named", None, "lambda_xray.api")
    assert "in the layer part 'compat'" in compat
    assert [line for line in done.stderr.splitlines() if SAID in line] == [done.stderr.strip()]
