"""``lambda_xray.patches.install()`` in fresh interpreters: what it imports, when it patches.

Each case runs in its own ``python -c`` process (the import system is
process-wide state, and "not imported yet" can only be shown in a fresh one).
The process prints one JSON object; the tests assert on it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from lx_process import run_python

LAYER_PYTHON = Path(__file__).resolve().parents[2] / "layers" / "lambda_xray" / "python"
CLIENT_MODULES = ("botocore", "boto3", "urllib3", "requests", "http.client")

pytestmark = pytest.mark.timeout(60)


def run(code: str, *, extra_path: Path | None = None) -> dict[str, Any]:
    paths = [str(LAYER_PYTHON)] if extra_path is None else [str(extra_path), str(LAYER_PYTHON)]
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": os.pathsep.join(paths),
        "AWS_XRAY_CONTEXT_MISSING": "IGNORE_ERROR",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
    }
    return run_python(code, env)


@pytest.fixture(scope="module")
def lazy() -> dict[str, Any]:
    """install() first, then the function imports its libraries."""
    return run(
        """
        import json, sys
        before = set(sys.modules)
        from lambda_xray import patches
        patches.install()
        patches.install()
        imported = sorted(set(sys.modules) - before)
        import boto3, requests
        import botocore.client as bc
        from botocore.endpoint import Endpoint
        call = bc.BaseClient._make_api_call
        print(json.dumps({
            "imported": imported,
            "finders": sum(type(f).__name__ == "PostImportFinder" for f in sys.meta_path),
            "installed": sorted(patches.installed()),
            "wrapped_once": hasattr(call, "__wrapped__")
                and not hasattr(call.__wrapped__, "__lambda_xray_wrapped__"),
            "create_request_wrapped": hasattr(Endpoint.create_request, "__lambda_xray_wrapped__"),
            "loaders": [type(bc.__loader__).__name__, type(bc.__spec__.loader).__name__],
        }))
        """
    )


def test_install_imports_no_client_library(lazy: dict[str, Any]) -> None:
    touched = [m for m in lazy["imported"] if m.startswith(CLIENT_MODULES)]
    assert touched == []


def test_install_is_idempotent(lazy: dict[str, Any]) -> None:
    assert lazy["finders"] == 1
    assert lazy["wrapped_once"] is True


def test_libraries_are_patched_when_the_function_imports_them(lazy: dict[str, Any]) -> None:
    assert lazy["installed"] == [
        "botocore.client",
        "concurrent.futures.thread",  # threads carry the current subsegment
        "http.client",
        "requests.sessions",
        "threading",
        "urllib3.connectionpool",
    ]
    assert lazy["create_request_wrapped"] is True


def test_the_import_hook_leaves_no_trace_on_the_module(lazy: dict[str, Any]) -> None:
    assert lazy["loaders"] == ["SourceFileLoader", "SourceFileLoader"]


def test_libraries_already_imported_are_patched_at_once() -> None:
    result = run(
        """
        import json
        import boto3, requests
        from lambda_xray import patches
        patches.install()
        print(json.dumps({"installed": sorted(patches.installed())}))
        """
    )
    assert "botocore.client" in result["installed"]
    assert "requests.sessions" in result["installed"]


def test_clients_created_before_the_layer_loaded_are_traced() -> None:
    result = run(
        """
        import json, socket
        import boto3
        from botocore.config import Config
        s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close()
        client = boto3.client(
            "dynamodb",
            endpoint_url=f"http://127.0.0.1:{port}",
            config=Config(retries={"total_max_attempts": 1}),
        )
        from lambda_xray import patches, testing
        patches.install()
        with testing.InMemoryEmitter() as xray, testing.invocation():
            try:
                client.list_tables()
            except Exception:
                pass
        print(json.dumps({"names": xray.names()}))
        """
    )
    assert "DynamoDB" in result["names"]


def test_a_failing_patch_is_contained_and_logged_once(tmp_path: Path) -> None:
    # A library whose shape the patch does not expect (no requests.sessions.Session).
    fake = tmp_path / "requests"
    fake.mkdir()
    (fake / "__init__.py").write_text("from requests import sessions\n")
    (fake / "sessions.py").write_text("VALUE = 42\n")
    result = run(
        """
        import json, logging
        logging.basicConfig(level=logging.WARNING)
        from lambda_xray import patches
        patches.install()
        import requests
        import botocore.client
        print(json.dumps({"value": requests.sessions.VALUE,
                          "installed": sorted(patches.installed())}))
        """,
        extra_path=tmp_path,
    )
    assert result["value"] == 42  # the import itself succeeded
    assert "requests.sessions" not in result["installed"]
    assert "botocore.client" in result["installed"]  # the others are unaffected
    assert result["stderr"].count("tracing of requests is off") == 1


def test_the_hook_stands_in_for_path_finder_and_keeps_its_services() -> None:
    """No finder is added in front (each one is asked on every import): PathFinder's place."""
    result = run(
        """
        import importlib, importlib.metadata, json, sys
        from importlib.machinery import PathFinder
        names = lambda: [f.__name__ if isinstance(f, type) else type(f).__name__
                         for f in sys.meta_path]
        before = names()
        from lambda_xray import patches
        patches.install()
        after = names()
        importlib.invalidate_caches()
        import boto3
        print(json.dumps({
            "before": before,
            "after": after,
            "path_finder_listed": PathFinder in sys.meta_path,
            "installed": sorted(patches.installed()),
            "botocore_version": importlib.metadata.version("botocore"),
            "missing": importlib.util.find_spec("lx_no_such_module") is None,
        }))
        """
    )
    # The same finders, in the same order, PathFinder's place taken by the hook.
    assert result["after"] == [
        "PostImportFinder" if name == "PathFinder" else name for name in result["before"]
    ]
    assert result["path_finder_listed"] is False
    assert "botocore.client" in result["installed"]
    assert result["botocore_version"]  # importlib.metadata still finds distributions
    assert result["missing"] is True


def test_without_path_finder_on_meta_path_the_hook_goes_first_and_still_patches() -> None:
    result = run(
        """
        import json, sys
        from importlib.machinery import PathFinder

        class Embedder:  # an embedder's own finder in PathFinder's place
            def find_spec(self, fullname, path, target=None):
                return PathFinder.find_spec(fullname, path, target)

        sys.meta_path[sys.meta_path.index(PathFinder)] = Embedder()
        from lambda_xray import patches
        patches.install()
        import boto3, requests
        print(json.dumps({
            "first": type(sys.meta_path[0]).__name__,
            "installed": sorted(patches.installed()),
        }))
        """
    )
    assert result["first"] == "PostImportFinder"
    assert {"botocore.client", "requests.sessions"} <= set(result["installed"])
