"""The parts the tracing layer is cut into: what each holds and what makes a function need it.

A function's layer version holds the ``core`` part plus only the parts its
function needs, so the download stays small (the goal is 60 KB per layer
version). The build (``_bytecode``) packs each part of each Python version on
its own; the planner decides which parts a function gets; this module is the
one place that says which layer module belongs to which part. Stdlib only:
``setup.py`` loads it by path.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CORE", "PARTS", "LayerPart", "part_of_module"]


@dataclass(frozen=True)
class LayerPart:
    """One part of the layer.

    :param modules: the layer modules it holds, as paths relative to the
        layer's ``python/`` folder; a path ending in ``/`` is a whole package.
    :param libraries: top-level import names of the client libraries whose
        presence in a function's code (or its other layers) means the
        function needs this part; empty for a part chosen otherwise.
    :param why: what makes a function need it, for annotations and docs.
    """

    modules: tuple[str, ...]
    libraries: tuple[str, ...]
    why: str


#: The part every traced function gets: everything no other part claims.
CORE = "core"

#: Every part but ``core``, in the order the build and the docs list them.
PARTS: dict[str, LayerPart] = {
    "otlp": LayerPart(
        modules=("lambda_xray/otlp/",),
        libraries=(),
        why="the function sends OTLP spans (trace_format=TraceFormat.OTLP)",
    ),
    "compat": LayerPart(
        modules=("lambda_xray/compat/",),
        libraries=(),
        why="the function's code imports lambda_xray.compat (the aws-xray-sdk/Powertools API)",
    ),
    "async_http": LayerPart(
        modules=(
            "lambda_xray/patches/aiobotocore.py",
            "lambda_xray/patches/httpx.py",
            "lambda_xray/patches/aiohttp.py",
        ),
        libraries=("aiobotocore", "httpx", "aiohttp"),
        why="the function ships aiobotocore, httpx or aiohttp",
    ),
    "databases": LayerPart(
        modules=(
            "lambda_xray/patches/_sql.py",
            "lambda_xray/patches/psycopg.py",
            "lambda_xray/patches/psycopg2.py",
            "lambda_xray/patches/pymysql.py",
            "lambda_xray/patches/redis.py",
        ),
        libraries=("psycopg", "psycopg2", "pymysql", "redis", "valkey"),
        why="the function ships psycopg, psycopg2, pymysql, redis or valkey",
    ),
}


def part_of_module(path: str) -> str:
    """The part that holds the layer module at ``path`` (relative to ``python/``)."""
    for name, part in PARTS.items():
        for module in part.modules:
            if path == module or (module.endswith("/") and path.startswith(module)):
                return name
    return CORE
