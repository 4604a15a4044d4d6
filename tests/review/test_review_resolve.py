"""Intrinsic resolution: what links, and what is reported as unresolved instead of guessed."""

from __future__ import annotations

from typing import Any

import pytest

from cdk_lambda_xray.review.resolve import (
    Pseudo,
    Resolver,
    ResourceId,
    StackScope,
    Target,
    Unknown,
)


def _resolver(**stacks: dict[str, Any]) -> Resolver:
    scopes = {}
    for key, spec in stacks.items():
        scopes[key] = StackScope(
            key=key,
            resources=spec.get("Resources", {}),
            parameters=spec.get("Parameters", {}),
            outputs=spec.get("Outputs", {}),
            parent=spec.get("parent"),
            children=spec.get("children"),
        )
    return Resolver(scopes)


R = _resolver(
    A={
        "Resources": {"Fn": {}, "Topic": {}},
        "Parameters": {"Env": {"Type": "String", "Default": "dev"}},
        "Outputs": {
            "TopicArn": {"Value": {"Ref": "Topic"}, "Export": {"Name": "A:TopicArn"}},
        },
    },
    B={"Resources": {"Sub": {}}},
)


def test_ref_to_a_resource_is_a_target() -> None:
    assert R.resolve("A", {"Ref": "Fn"}).only_target() == Target(ResourceId("A", "Fn"))


def test_get_att_keeps_the_attribute() -> None:
    value = R.resolve("A", {"Fn::GetAtt": ["Fn", "Arn"]})
    assert value.only_target() == Target(ResourceId("A", "Fn"), "Arn")


def test_get_att_dotted_string_form() -> None:
    assert R.resolve("A", {"Fn::GetAtt": "Fn.Arn"}).targets == (
        Target(ResourceId("A", "Fn"), "Arn"),
    )


def test_join_of_an_arn_keeps_literals_pseudo_parameters_and_targets() -> None:
    value = R.resolve(
        "A",
        {
            "Fn::Join": [
                "",
                ["arn:", {"Ref": "AWS::Partition"}, ":x/", {"Fn::GetAtt": ["Fn", "Arn"]}],
            ]
        },
    )
    assert value.parts == (
        "arn:",
        Pseudo("AWS::Partition"),
        ":x/",
        Target(ResourceId("A", "Fn"), "Arn"),
    )
    assert value.text() == "arn:${AWS::Partition}:x/${Fn.Arn}"


def test_sub_resolves_resources_attributes_and_variables() -> None:
    value = R.resolve("A", {"Fn::Sub": ["${Fn.Arn}/${Topic}/${X}/${!Literal}", {"X": "lit"}]})
    assert value.targets == (
        Target(ResourceId("A", "Fn"), "Arn"),
        Target(ResourceId("A", "Topic")),
    )
    assert value.text().endswith("/lit/${Literal}")


def test_pseudo_only_values_have_concrete_text_for_matching() -> None:
    value = R.resolve("A", {"Fn::Sub": "arn:${AWS::Partition}:lambda:${AWS::Region}:1:function:f"})
    assert value.literal is None
    assert value.concrete == "arn:<Partition>:lambda:<Region>:1:function:f"


def test_import_value_follows_the_exporting_stack() -> None:
    value = R.resolve("B", {"Fn::ImportValue": "A:TopicArn"})
    assert value.only_target() == Target(ResourceId("A", "Topic"))


def test_import_value_without_export_is_unresolved_with_the_name() -> None:
    (unknown,) = R.resolve("B", {"Fn::ImportValue": "Nope"}).unknowns
    assert "'Nope'" in unknown.reason


def test_stack_parameter_is_unresolved_and_mentions_its_default() -> None:
    (unknown,) = R.resolve("A", {"Ref": "Env"}).unknowns
    assert "deploy time" in unknown.reason and "'dev'" in unknown.reason


def test_nested_stack_parameter_resolves_through_the_parent() -> None:
    resolver = _resolver(
        P={
            "Resources": {
                "Queue": {},
                "Child": {
                    "Properties": {"Parameters": {"QueueArn": {"Fn::GetAtt": ["Queue", "Arn"]}}}
                },
            },
            "children": {"Child": "P/Child"},
        },
        **{
            "P/Child": {
                "Resources": {"Fn": {}},
                "Parameters": {"QueueArn": {"Type": "String"}},
                "Outputs": {"FnArn": {"Value": {"Fn::GetAtt": ["Fn", "Arn"]}}},
                "parent": ("P", "Child"),
            }
        },
    )
    assert resolver.resolve("P/Child", {"Ref": "QueueArn"}).only_target() == Target(
        ResourceId("P", "Queue"), "Arn"
    )
    assert resolver.resolve("P", {"Fn::GetAtt": ["Child", "Outputs.FnArn"]}).only_target() == (
        Target(ResourceId("P/Child", "Fn"), "Arn")
    )


@pytest.mark.parametrize(
    "expr",
    [
        {"Fn::If": ["IsProd", "a", "b"]},
        {"Fn::GetAZs": ""},
        {"Ref": "Missing"},
        {"Fn::GetAtt": ["Missing", "Arn"]},
        {"Fn::Select": [0, {"Fn::GetAZs": ""}]},
        {"Fn::Join": [",", {"Ref": "ListParam"}]},
    ],
)
def test_what_cannot_be_known_is_unknown_not_guessed(expr: Any) -> None:
    value = R.resolve("A", expr)
    assert value.unknowns and all(isinstance(u, Unknown) for u in value.unknowns)
    assert value.literal is None and value.concrete is None


def test_reference_cycles_end_as_unknown() -> None:
    resolver = _resolver(
        A={
            "Resources": {},
            "Outputs": {"X": {"Value": {"Fn::ImportValue": "x"}, "Export": {"Name": "x"}}},
        }
    )
    assert resolver.resolve("A", {"Fn::ImportValue": "x"}).unknowns
