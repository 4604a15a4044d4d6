"""Run the pinned CDK CLI (``npx --no-install cdk``) against a local AWS emulator.

Every command runs under a timeout in its own process group (``npx`` starts
``node``, which starts the app's ``python``; a timeout ends them all). The
group also ends when the calling process dies without stopping it, even by
SIGKILL (:class:`~cdk_lambda_xray.local.lifeline.Lifeline`). Each command runs:

- a fresh ``CDK_HOME`` per runner (the CLI caches account lookups there),
- fake credentials, the local region and ``AWS_ENDPOINT_URL`` pointing at the
  emulator, without the variables :data:`~.settings.SCRUBBED_ENV` names, so
  nothing can reach a real account,
- notices, telemetry and version reporting off,
- its own ``--output`` directory, so a user's ``cdk.out`` is left alone,
- ``--context`` :func:`~.settings.emulator_context`: every tracing layer
  carries the build of the Python MiniStack runs every function with,
- the interpreter running this code first on ``PATH``, so an app whose
  ``cdk.json`` says ``python3 app.py`` gets an interpreter with ``aws_cdk``;
- ``TMPDIR`` a fresh ``.cdk-tmp-*`` directory in the work directory, removed
  when the command ends (or by the lifeline if this process is killed).

The CLI's output goes to one log file per command; errors quote its tail.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from cdk_lambda_xray.local.lifeline import Lifeline

from .cdk_sdk_clients import pinned_sdk_packages
from .missing_sdk import diagnose_missing_sdk_in_files
from .settings import bootstrap_target, credentials_env, emulator_context, no_proxy, scrubbed

#: Prefix of each command's temporary directory in the work directory.
TMP_PREFIX = ".cdk-tmp-"

#: npm packages the local emulator's Node.js functions need when ``cli_root``
#: has no ``package.json`` to say which (Lambda's Node.js runtimes include the
#: AWS SDK v3; MiniStack does not). With one, every ``@aws-sdk/*`` it pins.
NODE_RUNTIME_PACKAGES = ("@aws-sdk/client-s3",)


class CdkError(RuntimeError):
    """A CDK CLI command failed or timed out; the message names it and quotes its log."""


@dataclass(frozen=True)
class CdkRun:
    """One finished CDK CLI command."""

    args: tuple[str, ...]
    seconds: float
    log_path: Path


def find_cli_root(start: Path) -> Path:
    """The nearest directory at or above ``start`` with ``node_modules/.bin/cdk``.

    Falls back to the directory holding this package's repository checkout.
    """
    candidates = [start.resolve(), *start.resolve().parents]
    candidates += list(Path(__file__).resolve().parents)
    for directory in candidates:
        if (directory / "node_modules" / ".bin" / "cdk").exists():
            return directory
    raise CdkError(
        f"no pinned CDK CLI found at or above {start} (node_modules/.bin/cdk); "
        "run `npm ci` (or `make setup`) in the repository first"
    )


def node_runtime_packages(cli_root: Path) -> tuple[str, ...]:
    """The AWS SDK v3 packages pinned in ``cli_root/package.json``, else the default set."""
    try:
        pinned = pinned_sdk_packages(cli_root / "package.json")
    except (OSError, ValueError):
        pinned = {}
    return tuple(sorted(pinned)) or NODE_RUNTIME_PACKAGES


def missing_node_packages(cli_root: Path) -> list[str]:
    """The :func:`node_runtime_packages` in neither ``cli_root/node_modules`` nor ``NODE_PATH``."""
    places = [cli_root / "node_modules"]
    places += [Path(p) for p in os.environ.get("NODE_PATH", "").split(os.pathsep) if p]
    return [
        package
        for package in node_runtime_packages(cli_root)
        if not any((place / package / "package.json").is_file() for place in places)
    ]


def _tail(path: Path, lines: int = 25) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no output)"
    return "\n".join(text.splitlines()[-lines:]) or "(no output)"


class CdkCli:
    """The pinned CDK CLI aimed at a local emulator.

    ``app_dir`` holds the app's ``cdk.json``; ``work_dir`` receives ``CDK_HOME``,
    the cloud assembly (``cdk.out``), the outputs file and one log per command.
    ``context`` is passed to every command (``--context KEY=VALUE``); default:
    :func:`~.settings.emulator_context`.
    """

    def __init__(
        self,
        app_dir: Path,
        work_dir: Path,
        *,
        endpoint_url: str,
        cli_root: Path | None = None,
        emulator_log: Path | None = None,
        context: Mapping[str, str] | None = None,
    ) -> None:
        self.app_dir = Path(app_dir).resolve()
        self.work_dir = Path(work_dir).resolve()
        self.endpoint_url = endpoint_url
        self.cli_root = cli_root or find_cli_root(self.app_dir)
        self.cdk_home = self.work_dir / "cdk-home"
        self.assembly_dir = self.work_dir / "cdk.out"
        self.outputs_file = self.work_dir / "outputs.json"
        #: Also searched for a missing AWS SDK package when a command fails.
        self.emulator_log = emulator_log
        #: CDK context given to every command.
        self.context = dict(emulator_context() if context is None else context)

    def environment(self, tmp_dir: Path | None = None) -> dict[str, str]:
        """The CLI's environment: fake credentials, the emulator endpoint, no telemetry."""
        env = scrubbed(os.environ)
        if tmp_dir is not None:
            env.update({"TMPDIR": str(tmp_dir), "TMP": str(tmp_dir), "TEMP": str(tmp_dir)})
        python_bin = str(Path(sys.executable).parent)
        env.update(
            {
                "PATH": os.pathsep.join([python_bin, env.get("PATH", "")]),
                "CDK_HOME": str(self.cdk_home),
                **credentials_env(self.endpoint_url),
                "CDK_DISABLE_CLI_TELEMETRY": "true",
                "CDK_DISABLE_VERSION_CHECK": "true",
                "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
                "NO_PROXY": no_proxy(env.get("NO_PROXY", "")),
                "CI": "true",
            }
        )
        return env

    def run(self, args: list[str], *, timeout: float, log_name: str) -> CdkRun:
        """Run ``cdk <args>`` in ``app_dir``; raise :class:`CdkError` on failure or timeout."""
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self.cdk_home.mkdir(parents=True, exist_ok=True)
        log_path = self.work_dir / f"{log_name}.log"
        command = [
            "npx",
            "--prefix",
            str(self.cli_root),
            "--no-install",
            "cdk",
            *args,
            *(f"--context={key}={value}" for key, value in sorted(self.context.items())),
            "--no-notices",
            "--no-version-reporting",
            "--output",
            str(self.assembly_dir),
        ]
        started = time.monotonic()
        tmp_dir = Path(tempfile.mkdtemp(prefix=TMP_PREFIX, dir=self.work_dir))
        try:
            code = self._run_in_group(command, args, timeout, log_path, tmp_dir)
        finally:
            shutil.rmtree(tmp_dir, ignore_errors=True)
        seconds = time.monotonic() - started
        if code != 0:
            raise CdkError(
                f"`cdk {' '.join(args)}` failed with status {code} after {seconds:.1f}s. "
                f"Log {log_path}:\n{_tail(log_path)}" + self._missing_sdk_line(log_path)
            )
        return CdkRun(tuple(args), seconds, log_path)

    def _run_in_group(
        self, command: list[str], args: list[str], timeout: float, log_path: Path, tmp_dir: Path
    ) -> int:
        """Run ``command`` in its own process group, tied to this process by a lifeline."""
        with log_path.open("wb") as log:
            proc = subprocess.Popen(
                command,
                cwd=self.app_dir,
                env=self.environment(tmp_dir),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            lifeline = Lifeline(proc.pid, remove=[tmp_dir])
            try:
                return proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self._kill_group(proc)
                raise CdkError(
                    f"`cdk {' '.join(args)}` did not finish within {timeout:g}s and was stopped. "
                    "If it hung on a custom resource: Python handlers need boto3 in the "
                    "emulator's interpreter, Node.js handlers the AWS SDK v3 clients they "
                    f"import (npm ci). Log {log_path}:\n{_tail(log_path)}"
                    + self._missing_sdk_line(log_path)
                ) from None
            finally:
                # node may leave children behind (the app's python); end the group.
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(proc.pid, signal.SIGKILL)
                lifeline.release()

    def bootstrap(self, *, timeout: float = 180) -> CdkRun:
        """``cdk bootstrap aws://ACCOUNT/REGION`` (:func:`~.settings.bootstrap_target`)."""
        return self.run(
            ["bootstrap", bootstrap_target()], timeout=timeout, log_name="cdk-bootstrap"
        )

    def deploy(self, stack: str, *, timeout: float = 300) -> tuple[CdkRun, dict[str, str]]:
        """``cdk deploy <stack>``; returns the run and the stack's outputs."""
        with contextlib.suppress(FileNotFoundError):
            self.outputs_file.unlink()
        run = self.run(
            [
                "deploy",
                stack,
                "--require-approval",
                "never",
                "--outputs-file",
                str(self.outputs_file),
            ],
            timeout=timeout,
            log_name="cdk-deploy",
        )
        try:
            outputs = json.loads(self.outputs_file.read_text())
        except (OSError, ValueError) as exc:
            raise CdkError(f"cdk deploy wrote no readable {self.outputs_file}: {exc}") from exc
        stack_outputs = outputs.get(stack, {})
        return run, {str(k): str(v) for k, v in stack_outputs.items()}

    def destroy(self, stack: str, *, timeout: float = 180) -> CdkRun:
        """``cdk destroy --force <stack>``."""
        return self.run(["destroy", stack, "--force"], timeout=timeout, log_name="cdk-destroy")

    def template(self, stack: str) -> dict[str, object]:
        """The synthesized template of ``stack`` from this runner's cloud assembly."""
        path = self.assembly_dir / f"{stack}.template.json"
        try:
            template: dict[str, object] = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise CdkError(f"no synthesized template at {path}: {exc}") from exc
        return template

    def _missing_sdk_line(self, log_path: Path) -> str:
        """``"\\n<one line>"`` naming an AWS SDK package a Node.js handler missed, or ``""``."""
        line = diagnose_missing_sdk_in_files([log_path, self.emulator_log], cli_root=self.cli_root)
        return f"\n{line}" if line else ""

    @staticmethod
    def _kill_group(proc: subprocess.Popen[bytes]) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)
