"""A local AWS for any app: the X-Ray collector and MiniStack, started and stopped together.

:class:`LocalAws` starts the collector (UDP) and MiniStack (HTTP), both on
127.0.0.1, with every function MiniStack runs pointed at the collector
(``AWS_XRAY_DAEMON_ADDRESS``), and appends every document the collector
accepts to ``traces.jsonl`` in its work directory. ``python -m cdk_lambda_xray
local start`` runs one in the foreground and writes its addresses to
``local.json`` there (:func:`write_state`), which ``local deploy``, ``invoke``
and ``traces`` read (:func:`read_state`).
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from .collector import Collector
from .emulator import MiniStack
from .settings import LOOPBACK_HOST
from .tracefile import append_document

__all__ = [
    "STATE_FILE",
    "TRACES_FILE",
    "LocalAws",
    "LocalState",
    "read_state",
    "remove_state",
    "write_state",
]

#: Where ``local start`` says where it listens (in its work directory).
STATE_FILE = "local.json"
#: Where every collected document is appended, one JSON object per line.
TRACES_FILE = "traces.jsonl"


@dataclass(frozen=True)
class LocalState:
    """Where a running local AWS listens, and the process that runs it."""

    endpoint_url: str
    daemon_address: str
    traces: str
    pid: int


class LocalAws:
    """The collector and MiniStack for one work directory; a context manager.

    ``node_modules`` goes on Node.js functions' ``NODE_PATH`` (CDK's own
    handlers need the AWS SDK v3, see :class:`~.emulator.MiniStack`).
    ``daemon_port`` 0 picks a free UDP port.
    """

    def __init__(
        self,
        work_dir: Path,
        *,
        node_modules: Path | None = None,
        daemon_port: int = 0,
        emulator_timeout: float = 60,
    ) -> None:
        self.work_dir = Path(work_dir).resolve()
        self.traces_path = self.work_dir / TRACES_FILE
        self.collector = Collector(LOOPBACK_HOST, daemon_port, on_document=self._keep)
        self.emulator: MiniStack | None = None
        self._node_modules = node_modules
        self._emulator_timeout = emulator_timeout

    def _keep(self, document: dict[str, Any]) -> None:
        append_document(self.traces_path, document)

    def start(self) -> Self:
        """Start the collector, then MiniStack (health-checked); stop both if either fails."""
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self.traces_path.unlink(missing_ok=True)
        try:
            self.collector.start()
            self.emulator = MiniStack(
                self.work_dir / "ministack.log",
                timeout=self._emulator_timeout,
                xray_daemon_address=self.collector.address,
                node_modules=self._node_modules,
            )
            self.emulator.start()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop MiniStack (with its workers) and the collector (after a short drain)."""
        if self.emulator is not None:
            self.emulator.stop()
            self.emulator = None
        self.collector.stop(drain=0.2)

    @property
    def endpoint_url(self) -> str:
        """MiniStack's ``http://127.0.0.1:PORT``."""
        if self.emulator is None:
            raise RuntimeError("local AWS not started")
        return self.emulator.endpoint_url

    @property
    def daemon_address(self) -> str:
        """The collector's ``127.0.0.1:PORT`` (the value of ``AWS_XRAY_DAEMON_ADDRESS``)."""
        return self.collector.address

    def state(self) -> LocalState:
        """Where this local AWS listens (for :func:`write_state`)."""
        return LocalState(
            self.endpoint_url, self.daemon_address, str(self.traces_path), os.getpid()
        )

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def write_state(work_dir: Path, state: LocalState) -> Path:
    """Write ``local.json`` (replaced atomically); its path."""
    path = Path(work_dir) / STATE_FILE
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(state), indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path


def read_state(work_dir: Path) -> LocalState | None:
    """The state a running ``local start`` wrote in ``work_dir``; ``None`` if none is running."""
    try:
        data = json.loads((Path(work_dir) / STATE_FILE).read_text(encoding="utf-8"))
        state = LocalState(
            str(data["endpoint_url"]),
            str(data["daemon_address"]),
            str(data["traces"]),
            int(data["pid"]),
        )
    except (OSError, ValueError, TypeError, KeyError):
        return None
    try:
        os.kill(state.pid, 0)  # still running? (signal 0 checks, sends nothing)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass  # running, as another user
    return state


def remove_state(work_dir: Path) -> None:
    """Remove ``local.json`` (when ``local start`` stops)."""
    with contextlib.suppress(OSError):
        (Path(work_dir) / STATE_FILE).unlink()
