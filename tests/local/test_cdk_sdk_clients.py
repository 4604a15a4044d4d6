"""The AWS SDK for JavaScript v3 packages CDK's Node.js handlers need are pinned and resolvable.

The list is re-derived from the installed aws-cdk-lib on every run: an upgrade
that makes CDK's handlers require a client package.json lacks fails here, not
in a local deploy.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from cdk_lambda_xray.local.cdk_sdk_clients import (
    CdkSdkNeeds,
    derive_sdk_needs,
    pinned_sdk_packages,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
PACKAGE_JSON = REPO_ROOT / "package.json"
NODE_MODULES = REPO_ROOT / "node_modules"


@pytest.fixture(scope="module")
def needs() -> CdkSdkNeeds:
    return derive_sdk_needs()


def test_package_json_pins_every_sdk_package_cdk_handlers_need(needs: CdkSdkNeeds) -> None:
    pinned = pinned_sdk_packages(PACKAGE_JSON)
    missing = {
        package: needs.static.get(package) or needs.dynamic.get(package)
        for package in sorted(needs.packages - set(pinned))
    }
    assert missing == {}, (
        f"aws-cdk-lib {needs.version}'s Node.js handlers need these packages (needed by): "
        f"{missing}; add them to package.json devDependencies and run `npm install`"
    )


def test_pins_are_exact_versions_of_the_sdk_v3_line() -> None:
    pinned = pinned_sdk_packages(PACKAGE_JSON)
    assert all(re.fullmatch(r"3\.\d+\.\d+", v) for v in pinned.values()), pinned


def test_package_lock_matches_package_json() -> None:
    lock = json.loads((REPO_ROOT / "package-lock.json").read_text())
    root = lock["packages"][""]
    locked = {**root.get("dependencies", {}), **root.get("devDependencies", {})}
    for name, version in pinned_sdk_packages(PACKAGE_JSON).items():
        assert locked.get(name) == version, name
        assert lock["packages"][f"node_modules/{name}"]["version"] == version, name


def test_the_issue_s_log_retention_clients_are_derived(needs: CdkSdkNeeds) -> None:
    # LogRetention's handler requires the logs client; AwsCustomResource maps the
    # v2 name CDK's constructs use ("CloudWatchLogs") to the same package.
    log_handlers = needs.static["@aws-sdk/client-cloudwatch-logs"]
    assert any("log-retention-handler" in path for path in log_handlers)
    assert "CloudWatchLogs" in needs.dynamic["@aws-sdk/client-cloudwatch-logs"]
    assert needs.package_for_service("CloudWatchLogs") == "@aws-sdk/client-cloudwatch-logs"
    assert needs.package_for_service("Route53") == "@aws-sdk/client-route-53"
    assert needs.package_for_service("@aws-sdk/client-sts") == "@aws-sdk/client-sts"
    assert needs.package_for_service("NoSuchService") is None


def _bundle(tmp_path: Path, files: dict[str, str]) -> Path:
    path = tmp_path / "aws-cdk-lib@9.9.9.jsii.tgz"
    with tarfile.open(path, "w:gz") as archive:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(f"package/{name}")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


def test_a_new_handler_requirement_in_a_bundle_is_found(tmp_path: Path) -> None:
    """A bundle as aws-cdk-lib ships it (a gzipped tar), with one new handler and one call."""
    tables = "custom-resources/lib/helpers-internal/"
    bundle = _bundle(
        tmp_path,
        {
            "custom-resource-handlers/dist/aws-new/handler/index.js": (
                'var a=require("@aws-sdk/client-brand-new");import{x}from"@aws-sdk/util-y";'
            ),
            "aws-thing/lib/thing.js": 'new AwsCustomResource(this,"X",{onCreate:{service:"Mq",'
            'action:"describeBroker"},onDelete:{action:"deleteThing",service:"Unknown"}})',
            "aws-other/lib/arn.js": 'formatArn({service:"logs",resource:"*"})',
            tables + "sdk-v2-to-v3.json": json.dumps({"mq": "mq"}),
            tables + "sdk-v3-metadata.json": json.dumps({"mq": {}, "logs": {}}),
        },
    )
    needs = derive_sdk_needs(bundle)
    assert needs.version == "9.9.9"
    assert set(needs.static) == {"@aws-sdk/client-brand-new", "@aws-sdk/util-y"}
    assert needs.dynamic == {"@aws-sdk/client-mq": ("Mq",)}


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed")
def test_every_pinned_client_loads_through_node_path_with_its_client_class() -> None:
    """What MiniStack's Node.js executor does: NODE_PATH=<repo>/node_modules, then require()."""
    packages = sorted(pinned_sdk_packages(PACKAGE_JSON))
    script = (
        "const out = {};"
        "for (const p of JSON.parse(process.argv[1])) {"
        "  try { const m = require(p);"
        "    out[p] = Object.keys(m).filter(k => /Client$/.test(k) && typeof m[k] === 'function');"
        "  } catch (e) { out[p] = String(e.code || e); } }"
        "console.log(JSON.stringify(out));"
    )
    env = {**os.environ, "NODE_PATH": str(NODE_MODULES)}
    done = subprocess.run(
        ["node", "-e", script, json.dumps(packages)],
        cwd="/",
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    loaded = json.loads(done.stdout)
    broken = {
        p: v
        for p, v in loaded.items()
        if not isinstance(v, list) or (p.startswith("@aws-sdk/client-") and not v)
    }
    assert broken == {}
