"""A function on the layer this checkout built, as Lambda runs it: read-only, under awslambdaric.

Real parts: the layer's build for the running Python (or another minor), assembled
with the parts asked for and copied read-only as a function gets it; the real
``awslambdaric`` against the test Runtime API server (:mod:`lx_runtime_api`),
its documents over real UDP to the collector.
"""

from __future__ import annotations

import contextlib
import shutil
import sys
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

from lx_runtime_api import LambdaProcess, RuntimeApi

from cdk_lambda_xray import _bytecode
from cdk_lambda_xray.layer import layer_asset_path, layer_builds_path
from cdk_lambda_xray.local.collector import Collector


def read_only_layer(parts: Iterable[str], dest: Path, minor: int | None = None) -> Path:
    """A read-only copy at ``dest`` of the layer for Python 3.``minor`` (the running one by
    default) with the core and ``parts``; its ``python/`` folder."""
    minor = sys.version_info[1] if minor is None else minor
    builds = layer_builds_path()
    _bytecode.ensure_built(layer_asset_path(), builds, minors=(minor,))
    runtime = _bytecode.runtime_name(minor)
    shutil.copytree(_bytecode.assemble_layer(builds, runtime, frozenset(parts)), dest)
    for path in [dest, *dest.rglob("*")]:
        path.chmod(path.stat().st_mode & ~0o222)
    return dest / "python"


@contextlib.contextmanager
def traced_function(
    layer: Path,
    task: Path,
    collector: Collector,
    log: Path,
    env: Mapping[str, str] | None = None,
) -> Iterator[tuple[RuntimeApi, LambdaProcess]]:
    """``app.handler`` in ``task`` behind the layer's wrapper, sending to ``collector``."""
    with (
        RuntimeApi() as api,
        LambdaProcess(
            api,
            handler="lambda_xray.handler.handler",
            task_root=task,
            layer_python=layer,
            log_path=log,
            env={
                "AWS_XRAY_DAEMON_ADDRESS": collector.address,
                "LAMBDA_XRAY_HANDLER": "app.handler",
                **(env or {}),
            },
        ) as proc,
    ):
        yield api, proc
