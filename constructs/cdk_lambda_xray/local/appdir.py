"""Find a CDK app directory and load the flows it declares for local runs.

An app directory has a ``cdk.json`` (what the CDK CLI runs). Its flows file
(default ``demo_flows.py`` next to ``cdk.json``) is a Python module with:

- ``STACK``: the stack to deploy (a string);
- ``FLOWS``: a sequence of :class:`~cdk_lambda_xray.local.flows.FlowSpec`, each
  with an ``action`` (what the flow does) and the trace it must produce.

Problems are :class:`AppError`, whose message is one line naming the file and
what is wrong.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .flows import FlowSpec

__all__ = ["FLOWS_FILE", "AppError", "AppFlows", "find_app_dir", "load_flows", "require_app_dir"]

#: The flows file the ``demo`` command looks for in the app directory.
FLOWS_FILE = "demo_flows.py"


class AppError(ValueError):
    """No usable app directory or flows file; the message is one line."""


@dataclass(frozen=True)
class AppFlows:
    """What an app's flows file declares."""

    path: Path
    stack: str
    flows: tuple[FlowSpec, ...]


def find_app_dir(start: Path) -> Path | None:
    """The nearest directory at or above ``start`` with both ``app.py`` and ``cdk.json``."""
    for directory in [start.resolve(), *start.resolve().parents]:
        if (directory / "app.py").is_file() and (directory / "cdk.json").is_file():
            return directory
    return None


def require_app_dir(app_dir: Path | None) -> Path:
    """``app_dir`` (default: found from the current directory), which must hold ``cdk.json``."""
    found = app_dir if app_dir is not None else find_app_dir(Path.cwd())
    if found is None:
        raise AppError(
            "no CDK app found: run from the repository (app.py and cdk.json) or pass --app-dir"
        )
    if not (Path(found) / "cdk.json").is_file():
        raise AppError(f"no CDK app found: {found} has no cdk.json (pass --app-dir)")
    return Path(found).resolve()


def load_flows(path: Path) -> AppFlows:
    """Import the flows file at ``path`` and check ``STACK`` and ``FLOWS``."""
    if not path.is_file():
        raise AppError(f"no flows file {path} (it declares STACK and FLOWS, see docs/local.md)")
    name = f"_cdk_lambda_xray_flows_{abs(hash(str(path.resolve())))}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise AppError(f"cannot load flows file {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up there
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # the user's file: report, never a traceback
        del sys.modules[name]
        raise AppError(f"flows file {path} failed to load: {type(exc).__name__}: {exc}") from None
    stack = getattr(module, "STACK", None)
    flows = getattr(module, "FLOWS", None)
    if not isinstance(stack, str) or not stack:
        raise AppError(f"flows file {path} has no STACK (the stack to deploy, a string)")
    if not isinstance(flows, Sequence) or not all(isinstance(f, FlowSpec) for f in flows):
        raise AppError(f"flows file {path}: FLOWS must be a sequence of FlowSpec")
    keys = [f.key for f in flows]
    if len(set(keys)) != len(keys):
        raise AppError(f"flows file {path}: flow keys repeat: {', '.join(keys)}")
    return AppFlows(path.resolve(), stack, tuple(flows))
