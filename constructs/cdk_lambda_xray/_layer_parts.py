"""The parts the tracing layer is cut into: what each holds and what makes a function need it.

A function's layer version holds the ``core`` part plus only the parts its
function needs, so the download stays small (the goal is 60 KB per layer
version). The build (``_bytecode``) packs each part of each Python version on
its own; the planner decides which parts a function gets; this module is the
one place that says which layer module belongs to which part. Stdlib only:
``setup.py`` loads it by path.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

__all__ = [
    "CORE",
    "LINE_TABLE_MODULES",
    "PARTS",
    "LayerPart",
    "keeps_line_table",
    "part_of_module",
    "with_required",
]


@dataclass(frozen=True)
class LayerPart:
    """One part of the layer.

    :param modules: the layer modules it holds, as paths relative to the
        layer's ``python/`` folder; a path ending in ``/`` is a whole package.
    :param libraries: top-level import names of the client libraries whose
        presence in a function's code (or its other layers) means the
        function needs this part; empty for a part chosen otherwise.
    :param why: what makes a function need it, for annotations and docs.
    :param requires: the other parts its modules import (a layer that holds
        it holds them too: :func:`with_required`).
    """

    modules: tuple[str, ...]
    libraries: tuple[str, ...]
    why: str
    requires: tuple[str, ...] = ()


#: The part every traced function gets: everything no other part claims.
CORE = "core"

#: Every part but ``core``, in the order the build and the docs list them.
PARTS: dict[str, LayerPart] = {
    "api": LayerPart(
        modules=("lambda_xray/api.py",),
        libraries=(),
        why="the function's code (or a layer's) names lambda_xray: the user API "
        "(annotate, metadata, subsegment)",
    ),
    "otlp": LayerPart(
        modules=("lambda_xray/otlp/",),
        libraries=(),
        why="the function sends OTLP spans (trace_format=TraceFormat.OTLP)",
    ),
    "compat": LayerPart(
        modules=("lambda_xray/compat/",),
        libraries=(),
        why="the function's code (or a layer's) imports lambda_xray.compat (the "
        "aws-xray-sdk/Powertools API)",
        requires=("api",),
    ),
    "requests": LayerPart(
        modules=("lambda_xray/patches/requests.py",),
        libraries=("requests",),
        why="the function ships requests",
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


#: The layer modules compiled with their line tables, in the paths' form of
#: :attr:`LayerPart.modules`: those whose frames stand in a traceback a user sees,
#: because they call out of the layer, into the function's code or a client
#: library (the handler wrapper, which also imports the function's module; the
#: user API's ``@subsegment``; the thread and executor wrappers; the client
#: patches and their import hook; the compat API's decorators), and ``_log``,
#: whose frame ``logging`` records as the caller of every layer log line (a
#: ``%(lineno)d`` in the function's log format cannot take ``None``). Every
#: other module's frames only ever sit below one of these: they are compiled
#: with a table that says "no line" for every instruction (a traceback shows
#: ``line None``; ``line -1`` on Python 3.10): 4.8-4.9 KB less for the core
#: alone on 3.11-3.13, 2.0 KB on 3.10 (docs/bytecode.md, "Line tables").
LINE_TABLE_MODULES: tuple[str, ...] = (
    "lambda_xray/handler.py",
    "lambda_xray/api.py",
    "lambda_xray/threads.py",
    "lambda_xray/_log.py",
    "lambda_xray/patches/",
    "lambda_xray/compat/",
)


def _listed(path: str, modules: tuple[str, ...]) -> bool:
    return any(path == m or (m.endswith("/") and path.startswith(m)) for m in modules)


def part_of_module(path: str) -> str:
    """The part that holds the layer module at ``path`` (relative to ``python/``)."""
    for name, part in PARTS.items():
        if _listed(path, part.modules):
            return name
    return CORE


def with_required(parts: Iterable[str]) -> frozenset[str]:
    """``parts`` and every part they require (:attr:`LayerPart.requires`), transitively.

    Names that are not parts are kept as they are (the callers check names).
    """
    chosen = set(parts)
    pending = list(chosen)
    while pending:
        part = PARTS.get(pending.pop())
        for required in part.requires if part is not None else ():
            if required not in chosen:
                chosen.add(required)
                pending.append(required)
    return frozenset(chosen)


def keeps_line_table(path: str) -> bool:
    """Whether the layer module at ``path`` (relative to ``python/``) is compiled with
    its line table (:data:`LINE_TABLE_MODULES`)."""
    return _listed(path, LINE_TABLE_MODULES)
