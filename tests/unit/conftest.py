"""Helpers for the construct tests: find a function's resource in a template."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import aws_cdk as cdk
import pytest
from constructs import IConstruct

# jsii prints a Node 20 end-of-life banner in every process that loads the CDK.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

Resource = dict[str, Any]


def resource_of(template: dict[str, Any], construct: IConstruct) -> Resource:
    """The template entry of ``construct`` (an L2 with a default child, or an L1)."""
    cfn = construct.node.default_child if construct.node.default_child else construct
    assert isinstance(cfn, cdk.CfnElement), construct.node.path
    logical_id = cdk.Stack.of(cfn).resolve(cfn.logical_id)
    resource: Resource = template["Resources"][logical_id]
    return resource


@pytest.fixture(scope="session")
def find_resource() -> Callable[[dict[str, Any], IConstruct], Resource]:
    """``find_resource(template_json, construct) -> {"Type":..., "Properties":...}``."""
    return resource_of


@pytest.fixture(scope="session")
def env_of() -> Callable[[dict[str, Any], IConstruct], dict[str, Any]]:
    """``env_of(template_json, function) -> its environment variables``."""

    def _env(template: dict[str, Any], construct: IConstruct) -> dict[str, Any]:
        props = resource_of(template, construct)["Properties"]
        variables: dict[str, Any] = props.get("Environment", {}).get("Variables", {})
        return variables

    return _env
