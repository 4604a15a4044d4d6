"""Trace downstream calls made with botocore/boto3, http.client, urllib3 and requests.

``install()`` is all the handler wrapper calls. It never imports a client
library: a library the function already imported is patched at once, any
other one right after the function first imports it (a ``sys.meta_path``
hook). The patch modules of this package are themselves imported only then,
so a function that never touches, say, ``requests`` pays nothing for it.

Every failure while patching is logged once and contained: tracing then stays
off for that library and the function runs exactly as it would without the
layer.
"""

from __future__ import annotations

import importlib
import logging
import sys
import threading
from types import ModuleType
from typing import Final

from lambda_xray.patches._import_hook import PostImportFinder

__all__ = ["install", "installed"]

_log = logging.getLogger("lambda_xray")

# Module whose import triggers the patch -> patch module in this package.
# The trigger is the module that defines the patched classes, so the patch
# runs once the class exists, whichever package import brought it in.
_TARGETS: Final[dict[str, str]] = {
    "botocore.client": "lambda_xray.patches.botocore",
    "http.client": "lambda_xray.patches.http_client",
    "urllib3.connectionpool": "lambda_xray.patches.urllib3",
    "requests.sessions": "lambda_xray.patches.requests",
}

_lock = threading.Lock()
_finder: PostImportFinder | None = None
_done: set[str] = set()  # attempted (patched or failed), never retried
_patched: set[str] = set()


def install() -> None:
    """Patch every supported client library now or when the function imports it.

    Idempotent and cheap (a few dictionary look-ups after the first call).
    Never raises: a failure is logged once and tracing of that library is
    skipped.
    """
    global _finder
    if _finder is not None:
        return
    try:
        with _lock:
            if _finder is not None:
                return
            finder = PostImportFinder()
            for target in _TARGETS:
                module = sys.modules.get(target)
                if module is not None:
                    _apply(target, module)
                else:
                    finder.watch(target, _callback_for(target))
            sys.meta_path.insert(0, finder)
            _finder = finder
    except Exception:  # never break the function over tracing
        _log.warning("lambda_xray: could not install client patches", exc_info=True)


def installed() -> frozenset[str]:
    """Names of the trigger modules whose library has been patched so far."""
    return frozenset(_patched)


def _callback_for(target: str) -> _Callback:
    return _Callback(target)


class _Callback:
    """Called by the import hook after ``target`` executed; never raises."""

    __slots__ = ("target",)

    def __init__(self, target: str) -> None:
        self.target = target

    def __call__(self, module: ModuleType) -> None:
        _apply(self.target, module)


def _apply(target: str, module: ModuleType) -> None:
    if target in _done:
        return
    _done.add(target)
    try:
        patcher = importlib.import_module(_TARGETS[target])
        patcher.patch(module)
        _patched.add(target)
    except Exception:
        # Logged once: the target is never retried, the import still succeeds.
        _log.warning(
            "lambda_xray: tracing of %s is off, patching it failed",
            target.partition(".")[0],
            exc_info=True,
        )
