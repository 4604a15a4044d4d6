"""The local tooling's fixed settings: account, region, credentials, loopback, scrubbed variables.

Every local part (the CDK CLI runner, the emulator, the read-back, the flows and
``python -m cdk_lambda_xray local``) takes these values from here, so the local
"AWS" is spelled once: account ``000000000000`` in ``us-east-1``, fake
credentials ``test``/``test``, everything bound to ``127.0.0.1`` on a free port.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any, Final

from .._contract import ENV_DAEMON_ADDRESS, ENV_TRACE_ID
from ..ids import CONTEXT_LAYER_PYTHON_OVERRIDE

__all__ = [
    "DEFAULT_DAEMON_PORT",
    "FAKE_ACCESS_KEY_ID",
    "FAKE_SECRET_ACCESS_KEY",
    "LOCAL_ACCOUNT",
    "LOCAL_REGION",
    "LOOPBACK_HOST",
    "SCRUBBED_ENV",
    "bootstrap_target",
    "credentials_env",
    "emulator_context",
    "local_session",
    "no_proxy",
    "scrubbed",
]

#: The account every local deploy targets (MiniStack's default).
LOCAL_ACCOUNT: Final = "000000000000"
#: The one region of the local emulator.
LOCAL_REGION: Final = "us-east-1"
#: Fake credentials: MiniStack accepts any; real AWS rejects these.
FAKE_ACCESS_KEY_ID: Final = "test"
FAKE_SECRET_ACCESS_KEY: Final = "test"
#: Every local server (emulator, collector) binds here, on a free port (port 0).
LOOPBACK_HOST: Final = "127.0.0.1"
#: The X-Ray daemon's own port: where SDKs and the layer send without
#: ``AWS_XRAY_DAEMON_ADDRESS`` (``collect``'s default; everything else picks a free port).
DEFAULT_DAEMON_PORT: Final = 2000

#: Variables of the calling shell that are never passed on to the CDK CLI, the
#: emulator or the functions it runs: each could steer a call to a real account
#: (profiles, session tokens, assumed roles, CDK's default account and region),
#: point boto3 or the layer elsewhere (endpoint, daemon address, a stale trace
#: header), put the host's packages in front of a function's own code
#: (``PYTHONPATH``), or switch the emulator's behaviour (its own settings and
#: LocalStack's). One list for every process the local tooling starts.
SCRUBBED_ENV: Final = frozenset(
    {
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_SESSION_TOKEN",
        "AWS_SECURITY_TOKEN",
        "AWS_CONFIG_FILE",
        "AWS_SHARED_CREDENTIALS_FILE",
        "AWS_ROLE_ARN",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_ENDPOINT_URL",
        "CDK_DEFAULT_ACCOUNT",
        "CDK_DEFAULT_REGION",
        ENV_DAEMON_ADDRESS,
        ENV_TRACE_ID,
        "PYTHONPATH",
        "SERVICES",
        "LAMBDA_EXECUTOR",
        "S3_PERSIST",
        "LOCALSTACK_PERSISTENCE",
    }
)


def scrubbed(environ: Mapping[str, str]) -> dict[str, str]:
    """``environ`` without the :data:`SCRUBBED_ENV` variables."""
    return {k: v for k, v in environ.items() if k not in SCRUBBED_ENV}


def credentials_env(endpoint_url: str) -> dict[str, str]:
    """Fake credentials, the local region and ``AWS_ENDPOINT_URL`` for a child process."""
    return {
        "AWS_ENDPOINT_URL": endpoint_url,
        "AWS_ACCESS_KEY_ID": FAKE_ACCESS_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": FAKE_SECRET_ACCESS_KEY,
        "AWS_REGION": LOCAL_REGION,
        "AWS_DEFAULT_REGION": LOCAL_REGION,
    }


def no_proxy(current: str) -> str:
    """``NO_PROXY`` extended so loopback calls never go through a proxy."""
    hosts = [h for h in current.split(",") if h]
    hosts += [h for h in (LOOPBACK_HOST, "localhost") if h not in hosts]
    return ",".join(hosts)


def emulator_context() -> dict[str, str]:
    """The CDK context every local deploy gets: the layers carry this Python's build.

    MiniStack runs every Python function with the interpreter it runs on (this
    one: the local tooling starts it with ``sys.executable``), whatever the
    function's runtime says, and the layer's bytecode only loads in the Python
    it was built for (docs/local.md).
    """
    return {CONTEXT_LAYER_PYTHON_OVERRIDE: f"{sys.version_info.major}.{sys.version_info.minor}"}


def bootstrap_target() -> str:
    """``aws://ACCOUNT/REGION`` for ``cdk bootstrap`` against the emulator."""
    return f"aws://{LOCAL_ACCOUNT}/{LOCAL_REGION}"


def local_session() -> Any:
    """A ``boto3.Session`` with the fake credentials and the local region (needs ``[local]``)."""
    import boto3  # type: ignore[import-untyped]

    return boto3.Session(
        aws_access_key_id=FAKE_ACCESS_KEY_ID,
        aws_secret_access_key=FAKE_SECRET_ACCESS_KEY,
        region_name=LOCAL_REGION,
    )
