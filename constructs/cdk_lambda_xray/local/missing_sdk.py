"""Name the AWS SDK for JavaScript v3 package a Node.js handler missed in a local deploy.

Lambda's Node.js runtimes include the whole SDK v3; locally only what
``package.json`` pins is there (see :mod:`~cdk_lambda_xray.local.cdk_sdk_clients`).
A handler that needs another client fails in one of these ways, and the
failure reaches the CDK CLI's output as the custom resource's reason and the
emulator's log:

- ``Cannot find module '@aws-sdk/credential-providers'`` (plain ``require``);
- ``MiniStack local executor has no stub for '@aws-sdk/client-x'``;
- ``No client constructor found within package: @aws-sdk/client-x``,
  ``Service x client package with name '@aws-sdk/client-x' does not exist.``,
  ``Package @aws-sdk/client-x does not exist.`` (``AwsCustomResource``);
- ``i.CloudWatchLogsClient is not a constructor`` (a bundled handler got the
  emulator's stand-in module, which has no named exports): the class name is
  mapped back to its package through the SDK v3 service names CDK knows.

:func:`diagnose_missing_sdk` turns any of these into one line naming the
package and the fix.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from .cdk_sdk_clients import CLIENT_PREFIX, derive_sdk_needs, pinned_sdk_packages

__all__ = ["diagnose_missing_sdk", "diagnose_missing_sdk_in_files", "missing_sdk_packages"]

_PACKAGE = r"(@aws-sdk/[a-z0-9-]+)"
#: Messages that name the package outright.
_NAMED = re.compile(
    r"Cannot find module '" + _PACKAGE + r"'"
    r"|no stub for '" + _PACKAGE + r"'"
    r"|No client constructor found within package: " + _PACKAGE + r"\b"
    r"|package with name '" + _PACKAGE + r"' does not exist"
    r"|Package " + _PACKAGE + r" does not exist"
)
#: The pin named as the example of how to pin another package.
_REFERENCE = "@aws-sdk/client-s3"
#: ``<minified binding>.XyzClient is not a constructor``: only the class name is known.
_CLASS = re.compile(r"\b([A-Z][A-Za-z0-9]*?)Client is not a constructor")


def missing_sdk_packages(text: str, v3_services: Iterable[str] | None = None) -> list[str]:
    """The SDK v3 packages ``text`` (a log) says a handler could not load, in order of mention.

    ``v3_services`` (SDK v3 service names such as ``cloudwatch-logs``) resolves
    ``XyzClient is not a constructor``; default: the names the installed
    ``aws-cdk-lib`` knows.
    """
    found: dict[str, None] = {}
    for match in _NAMED.finditer(text):
        found[next(group for group in match.groups() if group)] = None
    classes = [m.group(1) for m in _CLASS.finditer(text)]
    if classes:
        services = v3_services if v3_services is not None else derive_sdk_needs().v3_services
        by_squashed = {name.replace("-", ""): name for name in services}
        for cls in classes:
            service = by_squashed.get(cls.lower())
            found[CLIENT_PREFIX + service if service else f"the client defining {cls}Client"] = None
    return list(found)


def diagnose_missing_sdk(
    text: str, *, cli_root: Path | None = None, v3_services: Iterable[str] | None = None
) -> str | None:
    """One line naming the SDK package(s) a Node.js handler missed and the fix, or ``None``.

    ``cli_root`` (the directory with ``package.json`` and ``node_modules``)
    decides the fix: a package installed there did not reach the handler
    (``NODE_PATH``); one pinned but not installed needs ``npm ci``; one not
    pinned must be added to ``package.json``.
    """
    packages = missing_sdk_packages(text, v3_services)
    if not packages:
        return None
    names = ", ".join(packages)
    it, they_are = ("it", "it is") if len(packages) == 1 else ("them", "they are")
    pinned = _pinned(cli_root)
    if cli_root is not None and all(_installed(cli_root, p) for p in packages):
        fix = (
            f"{they_are} installed in {cli_root / 'node_modules'}, which the emulator must put "
            "on the functions' NODE_PATH (MiniStack(node_modules=...))"
        )
    elif pinned and all(p in pinned for p in packages):
        fix = f"{they_are} pinned in package.json but not installed: run `npm ci` (or `make setup`)"
    else:
        like = ""
        if pinned:
            reference = _REFERENCE if _REFERENCE in pinned else min(pinned)
            like = f" (pinned exactly, on the version line of {reference} {pinned[reference]})"
        fix = f"add {it} to package.json devDependencies{like} and run `npm install`"
    return (
        f"missing AWS SDK for JavaScript v3 package for a Node.js handler: {names} -- "
        f"Lambda's Node.js runtime includes {it}, the local emulator does not; fix: {fix}"
    )


def diagnose_missing_sdk_in_files(
    paths: Iterable[Path | None], *, cli_root: Path | None = None
) -> str | None:
    """:func:`diagnose_missing_sdk` over the text of ``paths`` (missing files are skipped)."""
    texts = []
    for path in paths:
        if path is None:
            continue
        try:
            texts.append(path.read_text(errors="replace"))
        except OSError:
            continue
    return diagnose_missing_sdk("\n".join(texts), cli_root=cli_root)


def _installed(cli_root: Path, package: str) -> bool:
    return (cli_root / "node_modules" / package / "package.json").is_file()


def _pinned(cli_root: Path | None) -> dict[str, str]:
    if cli_root is None:
        return {}
    try:
        return pinned_sdk_packages(cli_root / "package.json")
    except (OSError, ValueError):
        return {}
