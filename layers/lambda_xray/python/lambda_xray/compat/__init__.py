"""Move from aws-xray-sdk or Powertools Tracer by changing one import line.

::

    from lambda_xray.compat import xray_recorder, patch_all   # was: aws_xray_sdk.core
    from lambda_xray.compat import Tracer                     # was: aws_lambda_powertools

The calls functions make (``xray_recorder.capture``, ``in_subsegment``,
``begin_subsegment``/``end_subsegment``, ``put_annotation``, ``put_metadata``;
``Tracer().capture_lambda_handler``, ``capture_method``, ...) record on the
layer's own recorder: the same subsegments, patches, wire formats and
"never breaks the function" as :mod:`lambda_xray`. A call that is not
supported logs one warning naming it and does nothing. See
``docs/migrating.md``.

Nothing here is loaded unless the function imports it, and importing this
package loads nothing but itself until a name is used.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from lambda_xray.compat.powertools import Tracer
    from lambda_xray.compat.xray_sdk import Recorder, patch, patch_all, xray_recorder

__all__ = ["Recorder", "Tracer", "patch", "patch_all", "xray_recorder"]

_LAZY = {
    "Recorder": "lambda_xray.compat.xray_sdk",
    "patch": "lambda_xray.compat.xray_sdk",
    "patch_all": "lambda_xray.compat.xray_sdk",
    "xray_recorder": "lambda_xray.compat.xray_sdk",
    "Tracer": "lambda_xray.compat.powertools",
}


def __getattr__(name: str) -> object:
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'lambda_xray.compat' has no attribute {name!r}")
    import sys

    __import__(module_name)
    value = getattr(sys.modules[module_name], name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
