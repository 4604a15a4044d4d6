"""Trace downstream calls: botocore/boto3, HTTP clients, SQL databases and Redis.

``install()`` is all the handler wrapper calls. It never imports a client
library: a library the function already imported is patched at once, any
other one right after the function first imports it (an import hook in the
place of the standard ``PathFinder``). The patch modules of this package are
themselves imported only then, so a function that never touches, say,
``requests`` pays nothing for it.

Every failure while patching is logged once and contained: tracing then stays
off for that library and the function runs exactly as it would without the
layer.
"""

from __future__ import annotations

import sys
from _thread import allocate_lock

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from importlib.machinery import ModuleSpec
    from types import ModuleType
    from typing import Any

    Callback = Callable[[ModuleType], None]

__all__ = ["install", "installed"]

# Module whose import triggers the patch -> patch module in this package.
# The trigger is the module that defines the patched classes, so the patch
# runs once the class exists, whichever package import brought it in.
_TARGETS = {
    "botocore.client": "lambda_xray.patches.botocore",
    "http.client": "lambda_xray.patches.plain_http",
    "urllib3.connectionpool": "lambda_xray.patches.plain_http",
    "requests.sessions": "lambda_xray.patches.requests",
    # Not a client: threads and executors carry the current subsegment.
    "threading": "lambda_xray.threads",
    "concurrent.futures.thread": "lambda_xray.threads",
    "psycopg": "lambda_xray.patches.psycopg",
    "psycopg2": "lambda_xray.patches.psycopg2",
    "pymysql.connections": "lambda_xray.patches.pymysql",
    "redis.client": "lambda_xray.patches.redis",
    "redis.asyncio.client": "lambda_xray.patches.redis",
    "valkey.client": "lambda_xray.patches.redis",
    "valkey.asyncio.client": "lambda_xray.patches.redis",
    "httpx._client": "lambda_xray.patches.httpx",
    "aiohttp.client": "lambda_xray.patches.aiohttp",
    "aiobotocore.client": "lambda_xray.patches.aiobotocore",
}

_lock = allocate_lock()
_finder: PostImportFinder | None = None
_done: set[str] = set()  # attempted (patched or failed), never retried
_patched: set[str] = set()


def install() -> None:
    """Patch every supported client library now or when the function imports it.

    Idempotent and cheap (one global check after the first call). Never
    raises: a failure is logged once and tracing of that library is skipped.
    """
    global _finder
    if _finder is not None:
        return
    try:
        with _lock:
            if _finder is not None:
                return
            finder = _place_finder()
            for target in _TARGETS:
                module = sys.modules.get(target)
                if module is not None:
                    _apply(target, module)
                else:
                    finder.watch(target, _callback(target))
            _finder = finder
    except Exception:  # never break the function over tracing
        _warn("install", "could not install the client patches; downstream calls not traced")


def installed() -> frozenset[str]:
    """Trigger modules (``"botocore.client"``, ...) whose library is patched so far."""
    return frozenset(_patched)


def _callback(target: str) -> Callback:
    """What the import hook calls after ``target`` executed; never raises. (A closure:
    a class costs a cold start about as much as a small module's body.)"""

    def patch_target(module: ModuleType) -> None:
        _apply(target, module)

    return patch_target


# The bundle loader's Bundles.preload in a built layer (None from the source).
_preload = getattr(globals().get("__loader__"), "preload", None)


def _apply(target: str, module: ModuleType) -> None:
    if target in _done:
        return
    _done.add(target)
    try:
        name = _TARGETS[target]
        try:
            if _preload is not None:  # served from bundles: past import's per-module walk
                _preload((name,))
            __import__(name)  # a no-op when preloaded; raises as import does otherwise
        except ModuleNotFoundError as exc:
            if exc.name == name:  # its layer part is not in this function's layer
                _missing_part(target, exc)
                return
            raise
        sys.modules[name].patch(module)
        _patched.add(target)
    except Exception:
        # Logged once: the target is never retried, the import still succeeds.
        _warn(target, f"tracing of {target.partition('.')[0]} is off, patching it failed")


def _missing_part(target: str, exc: ModuleNotFoundError) -> None:
    """Say once per patch module that ``target``'s library stays unpatched: its patch is
    in a layer part this function's layer version does not carry (``exc``, the
    loader's, names the part). The library itself works as without the layer."""
    from lambda_xray import _log

    _log.warning_once(
        "part:" + str(exc.name),
        "lambda_xray: %s is left unpatched: %s. To trace its calls, add the layer part "
        "that holds %s to layer_parts on the function's construct (TracedFunction, "
        "XRayTracing) and redeploy.",
        target.partition(".")[0],
        exc,
        exc.name,
    )


# -- the import hook: run a callback right after a chosen module executed -------------
#
# Every import of a module not yet loaded asks each finder of ``sys.meta_path``
# in turn, and importlib wraps each ask in its import lock (~1,300 asks while
# boto3 loads and makes a client: one more finder in front cost ~2 M
# instructions, an eighth of the layer's whole cold start). So the hook does not
# add a finder: it takes the place of the standard ``PathFinder`` (where
# site-packages and the function's modules are found) and asks it itself, then
# wraps the loader of a watched module so the callback runs after
# ``exec_module``; every other spec is passed on untouched. Where ``PathFinder``
# is not on ``sys.meta_path`` (an embedder replaced it), the hook goes first
# instead and asks the other finders for watched names only. A watched module
# served by a finder placed before ``PathFinder`` (none does so for a client
# library) would not be patched. The module's ``__loader__`` and
# ``__spec__.loader`` are put back to the original loader afterwards, so nothing
# downstream ever sees the wrapper. Duck-typed on purpose: ``importlib.abc``
# costs tens of milliseconds to import.


def _place_finder() -> PostImportFinder:
    """Put the hook on ``sys.meta_path``: in ``PathFinder``'s place, else first."""
    meta_path = sys.meta_path
    bootstrap = sys.modules.get("_frozen_importlib_external")
    standard = getattr(bootstrap, "PathFinder", None)
    for index, finder in enumerate(meta_path):
        if standard is not None and finder is standard:
            hook = PostImportFinder(standard)
            meta_path[index] = hook
            return hook
    hook = PostImportFinder()
    meta_path.insert(0, hook)
    return hook


class _PatchingLoader:
    """Delegates to the real loader, then calls the callback once."""

    def __init__(self, loader: Any, callback: Callback) -> None:
        self._loader = loader
        self._callback = callback

    def create_module(self, spec: ModuleSpec) -> ModuleType | None:
        create = getattr(self._loader, "create_module", None)
        return None if create is None else create(spec)

    def exec_module(self, module: ModuleType) -> None:
        spec: Any = module.__spec__
        try:
            self._loader.exec_module(module)
        finally:
            # Hide the wrapper again, whether or not the body raised.
            if spec is not None and spec.loader is self:
                spec.loader = self._loader
            if getattr(module, "__loader__", None) is self:
                module.__loader__ = self._loader
        self._callback(module)

    def __getattr__(self, name: str) -> Any:
        # get_data, get_filename, is_package, ... of the real loader.
        return getattr(self._loader, name)


class PostImportFinder:
    """Meta path finder that reports the import of watched module names.

    With ``delegate`` (the standard ``PathFinder``) it stands in for that
    finder: every look-up is the delegate's, a watched module's spec comes
    back with a patching loader. Without, it sits first on ``sys.meta_path``
    and answers for watched names only, asking the other finders.
    """

    __slots__ = ("_busy", "_callbacks", "_delegate", "_delegate_find")

    def __init__(self, delegate: Any = None) -> None:
        self._delegate = delegate
        # Bound once: asked on every import, a look-up per call would add up.
        self._delegate_find = None if delegate is None else delegate.find_spec
        self._callbacks: dict[str, Callback] = {}
        self._busy: set[str] = set()

    def watch(self, name: str, callback: Callback) -> None:
        """Call ``callback(module)`` after ``name`` is next imported."""
        self._callbacks[name] = callback

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: ModuleType | None = None,
    ) -> ModuleSpec | None:
        find = self._delegate_find
        if find is None:  # first on sys.meta_path: watched names only
            if fullname in self._callbacks:
                return self._watched_spec(fullname, path, target)
            return None
        spec: ModuleSpec | None = find(fullname, path, target)
        if spec is not None and fullname in self._callbacks:
            return self._patching(fullname, spec)
        return spec

    def _watched_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: ModuleType | None,
    ) -> ModuleSpec | None:
        if fullname in self._busy:  # our own look-up through the other finders
            return None
        self._busy.add(fullname)
        try:
            spec = _find_with_others(self, fullname, path, target)
        finally:
            self._busy.discard(fullname)
        return None if spec is None else self._patching(fullname, spec)

    def _patching(self, fullname: str, spec: ModuleSpec) -> ModuleSpec:
        if spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        # One shot: a reload or a second copy of the module is not patched twice.
        callback = self._callbacks.pop(fullname, None)
        if callback is None:  # taken by a nested import of the same name meanwhile
            return spec
        spec.loader = _PatchingLoader(spec.loader, callback)  # type: ignore[assignment]
        return spec

    def invalidate_caches(self) -> None:
        """The delegate's caches (``importlib.invalidate_caches`` calls this)."""
        if self._delegate is not None:
            self._delegate.invalidate_caches()

    def __getattr__(self, name: str) -> Any:
        # ``find_distributions`` (importlib.metadata), ... of the finder stood in for.
        delegate = self._delegate if name not in PostImportFinder.__slots__ else None
        if delegate is None:
            raise AttributeError(name)
        return getattr(delegate, name)


def _find_with_others(
    me: object,
    fullname: str,
    path: Sequence[str] | None,
    target: ModuleType | None,
) -> ModuleSpec | None:
    for finder in list(sys.meta_path):
        if finder is me:
            continue
        find_spec = getattr(finder, "find_spec", None)
        if find_spec is None:
            continue
        spec: ModuleSpec | None = find_spec(fullname, path, target)
        if spec is not None:
            return spec
    return None


def _warn(key: str, message: str) -> None:
    try:
        from lambda_xray.patches._common import warn_once

        warn_once(key, message)
    except Exception:  # logging itself failed: stay silent rather than break
        pass
