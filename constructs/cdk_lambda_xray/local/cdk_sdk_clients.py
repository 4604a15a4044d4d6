"""Which AWS SDK for JavaScript v3 packages CDK's own Node.js handlers expect from Lambda.

Lambda's Node.js runtimes include the whole AWS SDK for JavaScript v3; CDK's
custom-resource handlers therefore ship without it and ``require`` the clients
they use. A local emulator provides none of them, so the project pins the ones
CDK needs in ``package.json`` and puts ``node_modules`` on the functions'
``NODE_PATH``. This module derives that list from the installed ``aws-cdk-lib``
(its jsii bundle, read as an archive; nothing is imported or executed), so an
``aws-cdk-lib`` upgrade that needs a new client is noticed by a test instead of
by a failing local deploy:

- **static**: every ``@aws-sdk/*`` package that JavaScript shipped in
  ``aws-cdk-lib`` requires by a literal name (the handler bundles under
  ``custom-resource-handlers/dist/``, the cross-region SSM handlers under
  ``core/lib/dist/``, the provider framework's runtime). The library's synth
  code never requires the SDK, so every such ``require`` is handler code;
- **dynamic**: ``AwsCustomResource`` (and the ``AwsApi`` event target) load
  ``@aws-sdk/client-<service>`` by the service name of each call. The bound
  taken here: the services ``aws-cdk-lib``'s own constructs call through it
  (literal ``service``/``action`` pairs in its code), mapped to the SDK v3 name
  with CDK's own table (``sdk-v2-to-v3.json``) and kept only when that name is
  an SDK v3 client CDK knows (``sdk-v3-metadata.json``). A service an app names
  itself is outside this bound; :mod:`~cdk_lambda_xray.local.missing_sdk` names
  it when a local deploy fails for want of it.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import re
import tarfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "CdkSdkNeeds",
    "cdk_bundle_path",
    "derive_sdk_needs",
    "pinned_sdk_packages",
    "sdk_package_for_service",
]

SDK_SCOPE = "@aws-sdk/"
CLIENT_PREFIX = "@aws-sdk/client-"

#: ``require("@aws-sdk/x")`` or ``from "@aws-sdk/x"`` with a literal name.
_LITERAL_SDK_IMPORT = re.compile(rb"""(?:require\(\s*|\bfrom\s*)["'](@aws-sdk/[a-z0-9-]+)["']""")
#: An ``AwsSdkCall`` literal as compiled: ``service:"X",action:"y"`` (either order).
_SDK_CALL = re.compile(
    rb'service:\s*"([A-Za-z0-9-]+)",\s*action:\s*"[A-Za-z0-9]+"'
    rb'|action:\s*"[A-Za-z0-9]+",\s*service:\s*"([A-Za-z0-9-]+)"'
)
_V2_TO_V3 = "custom-resources/lib/helpers-internal/sdk-v2-to-v3.json"
_V3_METADATA = "custom-resources/lib/helpers-internal/sdk-v3-metadata.json"
_SCRIPT_SUFFIXES = (".js", ".mjs", ".cjs")


@dataclass(frozen=True)
class CdkSdkNeeds:
    """What one ``aws-cdk-lib`` bundle's Node.js handlers need from the SDK.

    ``static`` maps each package to the bundle files requiring it; ``dynamic``
    maps each client package to the services (as CDK's constructs name them)
    that ``AwsCustomResource`` will load it for; ``v2_to_v3`` and
    ``v3_services`` are CDK's own service-name tables.
    """

    version: str
    static: Mapping[str, tuple[str, ...]]
    dynamic: Mapping[str, tuple[str, ...]]
    v2_to_v3: Mapping[str, str]
    v3_services: frozenset[str]

    @property
    def packages(self) -> frozenset[str]:
        """Every package CDK's Node.js handlers need (static and dynamic)."""
        return frozenset(self.static) | frozenset(self.dynamic)

    def package_for_service(self, service: str) -> str | None:
        """``@aws-sdk/client-<v3 name>`` for a service as ``AwsCustomResource`` takes it."""
        return sdk_package_for_service(service, self.v2_to_v3, self.v3_services)


def sdk_package_for_service(
    service: str, v2_to_v3: Mapping[str, str], v3_services: Iterable[str]
) -> str | None:
    """The client package ``AwsCustomResource`` loads for ``service``, or ``None`` if unknown.

    Same rule as CDK's handler: lower-case, drop a ``@aws-sdk/client-`` prefix,
    translate an SDK v2 name (``CloudWatchLogs``) through CDK's table.
    """
    name = service.lower().removeprefix(CLIENT_PREFIX)
    name = v2_to_v3.get(name, name)
    return CLIENT_PREFIX + name if name in set(v3_services) else None


def cdk_bundle_path() -> Path:
    """The installed ``aws-cdk-lib`` jsii bundle (found without importing ``aws_cdk``)."""
    spec = importlib.util.find_spec("aws_cdk")
    locations = list(spec.submodule_search_locations or []) if spec else []
    for location in locations:
        bundles = sorted(Path(location, "_jsii").glob("aws-cdk-lib@*.jsii.tgz"))
        if bundles:
            return bundles[-1]
    raise FileNotFoundError(
        "aws-cdk-lib is not installed (no aws_cdk/_jsii/aws-cdk-lib@*.jsii.tgz)"
    )


@functools.cache
def derive_sdk_needs(bundle: Path | None = None) -> CdkSdkNeeds:
    """Scan ``bundle`` (default: the installed ``aws-cdk-lib``) for the SDK packages it needs."""
    path = bundle or cdk_bundle_path()
    static: dict[str, set[str]] = {}
    called: set[str] = set()
    tables: dict[str, object] = {}
    with tarfile.open(path, "r:gz") as archive:
        for member in archive:
            if not member.isfile():
                continue
            name = member.name.removeprefix("package/")
            if name in (_V2_TO_V3, _V3_METADATA):
                tables[name] = json.loads(_read(archive, member))
                continue
            if not name.endswith(_SCRIPT_SUFFIXES):
                continue
            data = _read(archive, member)
            if b"@aws-sdk/" in data:
                for package in _LITERAL_SDK_IMPORT.findall(data):
                    static.setdefault(package.decode(), set()).add(name)
            if b"action:" in data and b"service:" in data:
                called.update((a or b).decode() for a, b in _SDK_CALL.findall(data))
    v2_to_v3 = _str_map(tables.get(_V2_TO_V3))
    metadata = tables.get(_V3_METADATA)
    v3_services = frozenset(str(k) for k in metadata) if isinstance(metadata, dict) else frozenset()
    dynamic: dict[str, set[str]] = {}
    for service in called:
        package = sdk_package_for_service(service, v2_to_v3, v3_services)
        if package is not None:
            dynamic.setdefault(package, set()).add(service)
    return CdkSdkNeeds(
        version=path.name.removeprefix("aws-cdk-lib@").removesuffix(".jsii.tgz"),
        static={k: tuple(sorted(v)) for k, v in sorted(static.items())},
        dynamic={k: tuple(sorted(v)) for k, v in sorted(dynamic.items())},
        v2_to_v3=v2_to_v3,
        v3_services=v3_services,
    )


def pinned_sdk_packages(package_json: Path) -> dict[str, str]:
    """The ``@aws-sdk/*`` packages pinned in ``package_json`` (name -> version)."""
    document = json.loads(package_json.read_text(encoding="utf-8"))
    pinned: dict[str, str] = {}
    for section in ("dependencies", "devDependencies"):
        for name, version in dict(document.get(section) or {}).items():
            if str(name).startswith(SDK_SCOPE):
                pinned[str(name)] = str(version)
    return pinned


def _read(archive: tarfile.TarFile, member: tarfile.TarInfo) -> bytes:
    handle = archive.extractfile(member)
    return handle.read() if handle is not None else b""


def _str_map(value: object) -> dict[str, str]:
    if not isinstance(value, dict):
        return {}
    return {str(k): str(v) for k, v in value.items()}
