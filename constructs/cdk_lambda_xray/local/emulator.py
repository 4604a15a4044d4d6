"""Start and stop the pinned MiniStack (a local AWS emulator) on 127.0.0.1.

MiniStack runs Python Lambda functions in worker processes it spawns from its
own interpreter, with its own environment plus the function's variables. That
is how the platform-provided variables reach the functions here:
``AWS_XRAY_DAEMON_ADDRESS`` (the collector, as Lambda points it at its daemon)
and ``AWS_ENDPOINT_URL`` (MiniStack itself, so boto3 inside a function calls the
emulator and never the internet). With ``TracingConfig`` ``Active`` MiniStack
sets ``_X_AMZN_TRACE_ID`` per invocation. It does not emit Lambda's own
``AWS::Lambda`` / ``AWS::Lambda::Function`` segments nor carry a caller's trace
header to the function; the launcher adds both (marked emulated), see
:mod:`cdk_lambda_xray.local.ministack_tracing`.

MiniStack's CloudFormation does not know ``AWS::XRay::ResourcePolicy`` (the
reference app needs one for SNS active tracing); it is started through
:mod:`cdk_lambda_xray.local._ministack_boot`, which records such policies so the
very template that goes to AWS deploys here too.

MiniStack's worker imports ``boto3`` for CDK's S3-notification custom resource,
so it must run from an interpreter that has boto3 (this package's own, by
default).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Self

from .._contract import ENV_DAEMON_ADDRESS
from .lifeline import Lifeline
from .settings import (
    LOCAL_ACCOUNT,
    LOCAL_REGION,
    LOOPBACK_HOST,
    credentials_env,
    no_proxy,
    scrubbed,
)

HEALTH_PATH = "/_ministack/health"
#: Prefix of the emulator's state directory, created next to its log.
STATE_PREFIX = ".ministack-"
#: Runs MiniStack's own entry point after one documented addition (see that module).
BOOT_MODULE = "cdk_lambda_xray.local._ministack_boot"


class EmulatorError(RuntimeError):
    """MiniStack did not start, or stopped unexpectedly; the message has its log tail."""


def free_tcp_port(host: str = LOOPBACK_HOST) -> int:
    """A TCP port that was free a moment ago (bind to port 0, read it, close)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


class MiniStack:
    """The pinned MiniStack on 127.0.0.1 and a free port, health-checked, stopped by pid.

    ``log_path`` receives MiniStack's output (and that of the functions it
    runs). ``timeout`` bounds the start-up health check. ``xray_daemon_address``
    is given to every function as ``AWS_XRAY_DAEMON_ADDRESS``; ``env`` adds
    further variables to the emulator's environment (and so to the functions').
    ``node_modules`` goes on Node.js functions' ``NODE_PATH``: Lambda's Node.js
    runtimes include the AWS SDK for JavaScript v3, MiniStack only stubs its
    JSON-protocol clients, so CDK's Node.js custom resources (S3 auto-delete
    objects) need the real AWS SDK v3 clients pinned in package.json from there.
    The emulator and every worker it spawns run in their own process group,
    which :meth:`stop` ends — also when start-up fails. Its state (pid file,
    S3 data, worker temp dirs) lives in a ``.ministack-*`` directory next to
    the log, removed by :meth:`stop`. If this process dies without stopping it,
    even by SIGKILL, a :class:`~cdk_lambda_xray.local.lifeline.Lifeline` ends
    the group and removes that directory.
    """

    def __init__(
        self,
        log_path: Path,
        *,
        timeout: float = 60,
        xray_daemon_address: str | None = None,
        env: Mapping[str, str] | None = None,
        python: str | None = None,
        node_modules: Path | None = None,
    ) -> None:
        self.log_path = Path(log_path)
        self.timeout = timeout
        self._xray_daemon_address = xray_daemon_address
        self._extra_env = dict(env or {})
        self._python = python or sys.executable
        self._node_modules = node_modules
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self._workdir: Path | None = None
        self._lifeline: Lifeline | None = None
        self.port = 0
        self.start_seconds = 0.0

    # -- lifecycle -------------------------------------------------------------

    @property
    def endpoint_url(self) -> str:
        """``http://127.0.0.1:PORT`` (the value for ``AWS_ENDPOINT_URL``)."""
        if not self.port:
            raise RuntimeError("MiniStack not started")
        return f"http://{LOOPBACK_HOST}:{self.port}"

    @property
    def pid(self) -> int | None:
        """Process id of the emulator (also its process group id), if running."""
        return self._proc.pid if self._proc is not None else None

    def environment(self) -> dict[str, str]:
        """The environment MiniStack (and so every function it runs) starts with."""
        assert self._workdir is not None
        work = self._workdir
        env = scrubbed(os.environ)
        env.update(
            {
                "GATEWAY_PORT": str(self.port),
                "BIND_HOST": LOOPBACK_HOST,
                "MINISTACK_HOST": "localhost",
                "MINISTACK_REGION": LOCAL_REGION,
                "MINISTACK_ACCOUNT_ID": LOCAL_ACCOUNT,
                **credentials_env(f"http://{LOOPBACK_HOST}:{self.port}"),
                # Pid file, S3 data and worker temp dirs stay in this run's own directory.
                "TMPDIR": str(work),
                "S3_DATA_DIR": str(work / "s3"),
                "S3_PERSIST": "0",
                "PYTHONUNBUFFERED": "1",
                "NO_PROXY": no_proxy(env.get("NO_PROXY", "")),
                "no_proxy": no_proxy(env.get("no_proxy", "")),
                "PYTHONDONTWRITEBYTECODE": "1",
            }
        )
        if self._xray_daemon_address:
            env[ENV_DAEMON_ADDRESS] = self._xray_daemon_address
        if self._node_modules is not None:
            paths = [p for p in env.get("NODE_PATH", "").split(os.pathsep) if p]
            env["NODE_PATH"] = os.pathsep.join([*paths, str(self._node_modules)])
        env.update(self._extra_env)
        return env

    def start(self) -> Self:
        """Start MiniStack and wait until its health endpoint answers."""
        if self._proc is not None:
            raise RuntimeError("MiniStack already started")
        started = time.monotonic()
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._workdir = Path(tempfile.mkdtemp(prefix=STATE_PREFIX, dir=self.log_path.parent))
        self.port = free_tcp_port()
        self._log = self.log_path.open("wb")
        try:
            self._proc = subprocess.Popen(
                [self._python, "-m", BOOT_MODULE],
                stdin=subprocess.DEVNULL,
                stdout=self._log,
                stderr=subprocess.STDOUT,
                env=self.environment(),
                cwd=self._workdir,
                start_new_session=True,
            )
            self._lifeline = Lifeline(self._proc.pid, remove=[self._workdir])
            self._wait_healthy(started + self.timeout)
        except BaseException:
            self.stop()
            raise
        self.start_seconds = time.monotonic() - started
        return self

    def stop(self, grace: float = 5.0) -> None:
        """Stop the emulator and its workers (SIGTERM, then SIGKILL), close the log."""
        proc = self._proc
        if proc is not None:
            self._signal_group(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                self._signal_group(proc.pid, signal.SIGKILL)
                proc.wait(timeout=grace)
            # Workers outlive a SIGTERM'd parent if they ignore it; end the group.
            self._signal_group(proc.pid, signal.SIGKILL)
            self._proc = None
        if self._lifeline is not None:
            self._lifeline.release()
            self._lifeline = None
        if self._log is not None:
            self._log.close()
            self._log = None
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- helpers ---------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        """MiniStack's health document (raises ``OSError`` if it does not answer)."""
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(self.endpoint_url + HEALTH_PATH, timeout=2) as response:
            body: dict[str, Any] = json.loads(response.read())
            return body

    def is_running(self) -> bool:
        """Whether the emulator process is still alive."""
        return self._proc is not None and self._proc.poll() is None

    def log_tail(self, lines: int = 30) -> str:
        """The last ``lines`` lines of the emulator's log."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def _wait_healthy(self, deadline: float) -> None:
        assert self._proc is not None
        while True:
            code = self._proc.poll()
            if code is not None:
                raise EmulatorError(
                    f"MiniStack exited with status {code} during start-up; "
                    f"log {self.log_path}:\n{self.log_tail()}"
                )
            with contextlib.suppress(OSError, ValueError):
                self.health()
                return
            if time.monotonic() > deadline:
                raise EmulatorError(
                    f"MiniStack did not answer {HEALTH_PATH} within {self.timeout:g}s; "
                    f"log {self.log_path}:\n{self.log_tail()}"
                )
            time.sleep(0.1)

    @staticmethod
    def _signal_group(pid: int, sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, sig)
