"""XRayTracing aspect / trace_app: every function of an app traced or annotated."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import aws_cdk as cdk
import jsii
import pytest
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_notifications as s3n
from aws_cdk.assertions import Annotations, Match, Template
from constructs import IConstruct

from cdk_lambda_xray import _contract
from cdk_lambda_xray._permissions import MANAGED_POLICY_ID
from cdk_lambda_xray.aspect import XRayTracing, trace_app
from cdk_lambda_xray.errors import TracingConfigError
from cdk_lambda_xray.function import TracedFunction
from cdk_lambda_xray.layer import TracingLayer

CODE = lambda_.Code.from_inline("def handler(event, context):\n    return event\n")
PY = lambda_.Runtime.PYTHON_3_12
Find = Callable[[dict[str, Any], Any], dict[str, Any]]
XRAY_ACTIONS = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]


def _cfn(construct: IConstruct) -> cdk.CfnResource:
    """The L1 resource behind an L2 construct."""
    child = construct.node.default_child
    assert isinstance(child, cdk.CfnResource), construct.node.path
    return child


def _plain(scope: cdk.Stack, id: str, **props: Any) -> lambda_.Function:
    props.setdefault("runtime", PY)
    props.setdefault("handler", "app.handler")
    props.setdefault("code", CODE)
    return lambda_.Function(scope, id, **props)


def _arn_layers(scope: cdk.Stack, count: int) -> list[lambda_.ILayerVersion]:
    return [
        lambda_.LayerVersion.from_layer_version_arn(
            scope, f"Ext{i}", f"arn:aws:lambda:us-east-1:123456789012:layer:ext{i}:1"
        )
        for i in range(count)
    ]


def _raw_function(stack: cdk.Stack) -> cdk.CfnResource:
    """A function the way some libraries write it: raw CfnResource + raw CfnRole."""
    role = iam.CfnRole(
        stack,
        "RawRole",
        assume_role_policy_document={
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "lambda.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                }
            ],
        },
    )
    return cdk.CfnResource(
        stack,
        "RawFunction",
        type="AWS::Lambda::Function",
        properties={
            "Code": {"ZipFile": "def handler(e, c):\n    return e\n"},
            "Handler": "index.handler",
            "Runtime": "python3.12",
            "Role": role.attr_arn,
        },
    )


@pytest.fixture(scope="module")
def built() -> SimpleNamespace:
    app = cdk.App()
    stack = cdk.Stack(app, "Mixed")
    repo = ecr.Repository.from_repository_name(stack, "Repo", "images")
    skip_obj = _plain(stack, "SkipByObject")
    fns = SimpleNamespace(
        plain=_plain(stack, "Plain", environment={"TABLE_NAME": "t1"}),
        arm=_plain(stack, "Arm", architecture=lambda_.Architecture.ARM_64),
        single=lambda_.SingletonFunction(
            stack,
            "Single",
            uuid="6a1c0d5e-4a54-4c39-9a5e-1b6f0d1c2e3f",
            runtime=PY,
            handler="app.handler",
            code=CODE,
        ),
        l1=lambda_.CfnFunction(
            stack,
            "L1Function",
            code=lambda_.CfnFunction.CodeProperty(zip_file="def handler(e, c):\n    return e\n"),
            handler="index.handler",
            runtime="python3.13",
            role="arn:aws:iam::123456789012:role/external",
        ),
        raw=_raw_function(stack),
        node=_plain(stack, "Node", runtime=lambda_.Runtime.NODEJS_22_X, handler="index.handler"),
        image=lambda_.DockerImageFunction(
            stack, "Image", code=lambda_.DockerImageCode.from_ecr(repo)
        ),
        wrapper=_plain(
            stack, "Wrapped", environment={_contract.ENV_EXEC_WRAPPER: "/opt/otel-instrument"}
        ),
        vendor=_plain(stack, "Vendor", handler="datadog_lambda.handler.handler"),
        five=_plain(stack, "FiveLayers", layers=_arn_layers(stack, 5)),
        own_env=_plain(
            stack,
            "OwnEnv",
            environment={
                _contract.ENV_CONTEXT_MISSING: "IGNORE_ERROR",
                _contract.ENV_SERVICE_NAME: "mine",
            },
        ),
        pass_through=_plain(stack, "PassThrough", tracing=lambda_.Tracing.PASS_THROUGH),
        bad_daemon=_plain(
            stack, "BadDaemon", environment={_contract.ENV_DAEMON_ADDRESS: "nowhere"}
        ),
        old_python=lambda_.CfnFunction(
            stack,
            "OldPython",
            code=lambda_.CfnFunction.CodeProperty(zip_file="def handler(e, c):\n    return e\n"),
            handler="index.handler",
            runtime="python3.9",
            role="arn:aws:iam::123456789012:role/external",
        ),
        hand_set=_plain(stack, "HandSet", environment={_contract.ENV_HANDLER: "other.handler"}),
        skip_glob=_plain(stack, "SkipByGlob"),
        skip_obj=skip_obj,
    )
    bucket = s3.Bucket(
        stack, "Uploads", auto_delete_objects=True, removal_policy=cdk.RemovalPolicy.DESTROY
    )
    bucket.add_object_created_notification(s3n.LambdaDestination(fns.plain))
    trace_app(app, exclude=["Mixed/SkipByGlob*", skip_obj], service_name="shop")
    template = Template.from_stack(stack)
    handler = next(
        c
        for c in stack.node.find_all()
        if isinstance(c, cdk.CfnResource)
        and c.cfn_resource_type == "AWS::Lambda::Function"
        and "BucketNotificationsHandler" in c.node.path
    )
    return SimpleNamespace(
        app=app,
        stack=stack,
        fns=fns,
        template=template,
        json=template.to_json(),
        annotations=Annotations.from_stack(stack),
        notifications=handler,
    )


def props(built: SimpleNamespace, find: Find, fn: Any) -> dict[str, Any]:
    result: dict[str, Any] = find(built.json, fn)["Properties"]
    return result


def env(built: SimpleNamespace, find: Find, fn: Any) -> dict[str, Any]:
    result: dict[str, Any] = props(built, find, fn).get("Environment", {}).get("Variables", {})
    return result


def layer_ref(built: SimpleNamespace, runtime: str = PY.name) -> dict[str, str]:
    layer = TracingLayer.of(built.stack, runtime)
    return {"Ref": built.stack.resolve(_cfn(layer).logical_id)}


def _holds_xray(properties: dict[str, Any]) -> bool:
    return any(s.get("Action") == XRAY_ACTIONS for s in properties["PolicyDocument"]["Statement"])


def xray_policies_for_role(built: SimpleNamespace, role_logical_id: str) -> list[str]:
    """Policies and managed policies with the X-Ray statement that name the role in ``Roles``."""
    return [
        logical_id
        for logical_id, r in built.json["Resources"].items()
        if r["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy")
        and {"Ref": role_logical_id} in r["Properties"].get("Roles", [])
        and _holds_xray(r["Properties"])
    ]


def xray_grants_for_role(built: SimpleNamespace, role_logical_id: str) -> list[str]:
    """Where the role gets the X-Ray statement: policy logical ids and ``<role>.<inline name>``."""
    resources = built.json["Resources"]
    role = resources[role_logical_id]["Properties"]
    inline = [
        f"{role_logical_id}.{p['PolicyName']}"
        for p in role.get("Policies", [])
        if any(s.get("Action") == XRAY_ACTIONS for s in p["PolicyDocument"]["Statement"])
    ]
    managed = [
        arn["Ref"]
        for arn in role.get("ManagedPolicyArns", [])
        if isinstance(arn, dict)
        and "Ref" in arn
        and _holds_xray(resources[arn["Ref"]]["Properties"])
    ]
    return xray_policies_for_role(built, role_logical_id) + inline + managed


def shared_policy_id(built: SimpleNamespace) -> str:
    policy = _cfn(built.stack.node.find_child(MANAGED_POLICY_ID))
    logical_id: str = built.stack.resolve(policy.logical_id)
    return logical_id


def role_id(built: SimpleNamespace, find: Find, fn: Any) -> str:
    role: str = props(built, find, fn)["Role"]["Fn::GetAtt"][0]
    return role


# --- plain Python functions ----------------------------------------------------------


def test_plain_function_gets_active_tracing(built: SimpleNamespace, find_resource: Find) -> None:
    assert props(built, find_resource, built.fns.plain)["TracingConfig"] == {"Mode": "Active"}


def test_plain_function_gets_the_layer_and_redirect(
    built: SimpleNamespace, find_resource: Find
) -> None:
    plain = props(built, find_resource, built.fns.plain)
    assert (plain["Handler"], plain["Layers"]) == (_contract.WRAPPER_HANDLER, [layer_ref(built)])
    assert env(built, find_resource, built.fns.plain)[_contract.ENV_HANDLER] == "app.handler"


def test_plain_function_keeps_its_variables_and_gets_the_options(
    built: SimpleNamespace, find_resource: Find
) -> None:
    assert env(built, find_resource, built.fns.plain) == {
        "TABLE_NAME": "t1",
        _contract.ENV_CONTEXT_MISSING: "LOG_ERROR",
        _contract.ENV_HANDLER: "app.handler",
        _contract.ENV_SERVICE_NAME: "shop",
        _contract.ENV_CAPTURE_RESPONSE: "false",
        _contract.ENV_CAPTURE_ERROR: "true",
    }


def test_plain_function_role_gets_the_permission(
    built: SimpleNamespace, find_resource: Find
) -> None:
    role = role_id(built, find_resource, built.fns.plain)
    assert xray_grants_for_role(built, role) == [shared_policy_id(built)]


def test_plain_function_waits_for_its_role(built: SimpleNamespace, find_resource: Find) -> None:
    role = role_id(built, find_resource, built.fns.plain)
    assert role in find_resource(built.json, built.fns.plain)["DependsOn"]


def test_arm64_function_is_instrumented(built: SimpleNamespace, find_resource: Find) -> None:
    arm = props(built, find_resource, built.fns.arm)
    assert (arm["Architectures"], arm["Handler"], arm["Layers"]) == (
        ["arm64"],
        _contract.WRAPPER_HANDLER,
        [layer_ref(built)],
    )


def test_singleton_function_is_instrumented(built: SimpleNamespace) -> None:
    (single,) = [
        r["Properties"]
        for lid, r in built.json["Resources"].items()
        if lid.startswith("SingletonLambda6a1c0d5e") and r["Type"] == "AWS::Lambda::Function"
    ]
    assert (single["Handler"], single["TracingConfig"]) == (
        _contract.WRAPPER_HANDLER,
        {"Mode": "Active"},
    )


def test_function_variables_win_over_aspect_options(
    built: SimpleNamespace, find_resource: Find
) -> None:
    variables = env(built, find_resource, built.fns.own_env)
    assert variables[_contract.ENV_CONTEXT_MISSING] == "IGNORE_ERROR"
    assert variables[_contract.ENV_SERVICE_NAME] == "mine"


def test_explicit_pass_through_is_kept(built: SimpleNamespace, find_resource: Find) -> None:
    tracing = props(built, find_resource, built.fns.pass_through)["TracingConfig"]
    assert tracing == {"Mode": "PassThrough"}


# --- L1 and raw functions --------------------------------------------------------------


def test_cfn_function_is_instrumented(built: SimpleNamespace, find_resource: Find) -> None:
    l1 = props(built, find_resource, built.fns.l1)
    assert (l1["Handler"], l1["Layers"], l1["TracingConfig"]) == (
        _contract.WRAPPER_HANDLER,
        [layer_ref(built, "python3.13")],
        {"Mode": "Active"},
    )
    assert env(built, find_resource, built.fns.l1)[_contract.ENV_HANDLER] == "index.handler"


def test_cfn_function_with_an_external_role_is_warned_about(built: SimpleNamespace) -> None:
    built.annotations.has_warning(
        "/Mixed/L1Function", Match.string_like_regexp("X-Ray write permission could not be added")
    )


def test_raw_function_with_a_raw_role_gets_the_permission(built: SimpleNamespace) -> None:
    role = built.stack.resolve(built.stack.node.find_child("RawRole").logical_id)
    assert len(xray_policies_for_role(built, role)) == 1


def test_raw_function_is_redirected(built: SimpleNamespace, find_resource: Find) -> None:
    raw = props(built, find_resource, built.fns.raw)
    assert (raw["Handler"], raw["Layers"], raw["TracingConfig"]) == (
        _contract.WRAPPER_HANDLER,
        [layer_ref(built)],
        {"Mode": "Active"},
    )


# --- CDK's own BucketNotificationsHandler ---------------------------------------------------


def test_bucket_notifications_handler_gets_active_tracing(
    built: SimpleNamespace, find_resource: Find
) -> None:
    handler = props(built, find_resource, built.notifications)
    assert handler["TracingConfig"] == {"Mode": "Active"}


def test_bucket_notifications_handler_role_gets_the_permission(
    built: SimpleNamespace, find_resource: Find
) -> None:
    role = role_id(built, find_resource, built.notifications)
    assert xray_grants_for_role(built, role) == [shared_policy_id(built)]


def test_bucket_notifications_handler_waits_for_the_permission(
    built: SimpleNamespace, find_resource: Find
) -> None:
    # The policy is in the role's ManagedPolicyArns; the handler waits for its role.
    role = role_id(built, find_resource, built.notifications)
    assert role in find_resource(built.json, built.notifications)["DependsOn"]


def test_bucket_notifications_handler_inline_code_gets_the_layer(
    built: SimpleNamespace, find_resource: Find
) -> None:
    handler = props(built, find_resource, built.notifications)
    assert (handler["Handler"], handler["Layers"]) == (
        _contract.WRAPPER_HANDLER,
        [layer_ref(built, handler["Runtime"])],  # CDK's own runtime for this handler
    )
    assert env(built, find_resource, built.notifications)[_contract.ENV_HANDLER] == "index.handler"


def _provider_handler(built: SimpleNamespace) -> dict[str, Any]:
    """CDK's CustomResourceProvider function: raw CfnResource, raw AWS::IAM::Role, Node.js."""
    (handler,) = [
        r
        for lid, r in built.json["Resources"].items()
        if lid.startswith("CustomS3AutoDeleteObjectsCustomResourceProviderHandler")
        and r["Type"] == "AWS::Lambda::Function"
    ]
    assert isinstance(handler, dict)
    return handler


def test_custom_resource_provider_handler_gets_active_tracing(built: SimpleNamespace) -> None:
    assert _provider_handler(built)["Properties"]["TracingConfig"] == {"Mode": "Active"}


def test_custom_resource_provider_raw_role_gets_the_permission(built: SimpleNamespace) -> None:
    handler = _provider_handler(built)
    role = handler["Properties"]["Role"]["Fn::GetAtt"][0]
    (policy,) = xray_policies_for_role(built, role)
    assert policy in handler["DependsOn"]


def test_inline_code_redirect_is_announced_once_per_app(built: SimpleNamespace) -> None:
    announced = built.annotations.find_info(
        "*", Match.string_like_regexp("inline code .*now run through the tracing wrapper")
    )
    assert [message.id for message in announced] == [f"/{built.stack.node.path}"]


def test_one_layer_per_python_version_of_the_stack(built: SimpleNamespace) -> None:
    # python3.12 functions; python3.13 for the L1 function and CDK's notifications handler.
    built.template.resource_count_is("AWS::Lambda::LayerVersion", 2)


# --- where the permission goes, by kind of role ----------------------------------------


@pytest.fixture(scope="module")
def roles() -> SimpleNamespace:
    app = cdk.App()
    stack = cdk.Stack(app, "Roles")
    passed = _plain(
        stack,
        "Passed",
        role=iam.Role(stack, "Mine", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com")),
    )
    edited = _plain(stack, "Edited")
    role = edited.role
    assert role is not None
    own = _cfn(role)
    assert isinstance(own, iam.CfnRole)
    own.policies = [
        iam.CfnRole.PolicyProperty(
            policy_name="Mine",
            policy_document={
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
            },
        )
    ]
    trace_app(app)
    return SimpleNamespace(
        stack=stack, passed=passed, edited=edited, json=Template.from_stack(stack).to_json()
    )


def test_passed_role_gets_the_shared_managed_policy(
    roles: SimpleNamespace, find_resource: Find
) -> None:
    policy = _cfn(roles.stack.node.find_child(MANAGED_POLICY_ID))
    policy_id = roles.stack.resolve(policy.logical_id)
    assert roles.json["Resources"][policy_id]["Properties"]["PolicyDocument"]["Statement"] == [
        {"Sid": "LambdaXrayWrite", "Effect": "Allow", "Action": XRAY_ACTIONS, "Resource": "*"}
    ]
    role = find_resource(roles.json, roles.passed.role)["Properties"]
    assert role["ManagedPolicyArns"] == [{"Ref": policy_id}]


def test_inline_policies_set_on_a_function_role_are_kept(
    roles: SimpleNamespace, find_resource: Find
) -> None:
    role = find_resource(roles.json, roles.edited.role)
    assert [p["PolicyName"] for p in role["Properties"]["Policies"]] == ["Mine"]
    policy = _cfn(roles.stack.node.find_child(MANAGED_POLICY_ID))
    assert {"Ref": roles.stack.resolve(policy.logical_id)} in role["Properties"][
        "ManagedPolicyArns"
    ]


def test_a_role_with_an_aws_xray_write_policy_gets_no_redundant_policy() -> None:
    app = cdk.App()
    stack = cdk.Stack(app, "Redundant")
    fn = _plain(stack, "Fn")
    assert fn.role is not None
    fn.role.add_managed_policy(
        iam.ManagedPolicy.from_aws_managed_policy_name("AWSXrayWriteOnlyAccess")
    )
    trace_app(app)
    template = Template.from_stack(stack)
    template.resource_count_is("AWS::IAM::ManagedPolicy", 0)
    template.resource_count_is("AWS::IAM::Policy", 0)
    template.has_resource_properties("AWS::Lambda::Function", {"TracingConfig": {"Mode": "Active"}})


# --- functions that cannot get the layer --------------------------------------------------


def test_node_function_traced_without_layer(built: SimpleNamespace, find_resource: Find) -> None:
    node = props(built, find_resource, built.fns.node)
    assert (node["TracingConfig"], node["Handler"], node.get("Layers")) == (
        {"Mode": "Active"},
        "index.handler",
        None,
    )
    assert len(xray_grants_for_role(built, role_id(built, find_resource, built.fns.node))) == 1


def test_node_function_is_annotated(built: SimpleNamespace) -> None:
    built.annotations.has_info(
        "/Mixed/Node", Match.string_like_regexp("nodejs22.x function: traced by Lambda")
    )


def test_image_function_traced_without_layer(built: SimpleNamespace, find_resource: Find) -> None:
    image = props(built, find_resource, built.fns.image)
    assert (image["TracingConfig"], image.get("Layers")) == ({"Mode": "Active"}, None)


def test_image_function_is_annotated(built: SimpleNamespace) -> None:
    built.annotations.has_info("/Mixed/Image", Match.string_like_regexp("container image function"))


def test_exec_wrapper_is_not_double_wrapped(built: SimpleNamespace, find_resource: Find) -> None:
    wrapped = props(built, find_resource, built.fns.wrapper)
    assert (wrapped["Handler"], wrapped.get("Layers"), wrapped["TracingConfig"]) == (
        "app.handler",
        None,
        {"Mode": "Active"},
    )


def test_exec_wrapper_conflict_is_reported(built: SimpleNamespace) -> None:
    built.annotations.has_warning(
        "/Mixed/Wrapped",
        Match.string_like_regexp("AWS_LAMBDA_EXEC_WRAPPER is set.*Fix: use one tracer"),
    )


def test_vendor_handler_is_not_double_wrapped(built: SimpleNamespace, find_resource: Find) -> None:
    vendor = props(built, find_resource, built.fns.vendor)
    assert (vendor["Handler"], vendor.get("Layers")) == ("datadog_lambda.handler.handler", None)


def test_vendor_handler_conflict_is_reported(built: SimpleNamespace) -> None:
    built.annotations.has_warning(
        "/Mixed/Vendor", Match.string_like_regexp("belongs to another tracer")
    )


def test_five_layers_get_no_sixth(built: SimpleNamespace, find_resource: Find) -> None:
    five = props(built, find_resource, built.fns.five)
    assert (len(five["Layers"]), five["Handler"], five["TracingConfig"]) == (
        5,
        "app.handler",
        {"Mode": "Active"},
    )


def test_five_layers_are_reported(built: SimpleNamespace) -> None:
    built.annotations.has_warning(
        "/Mixed/FiveLayers", Match.string_like_regexp("already has 5 layers")
    )


def test_malformed_daemon_address_is_an_error(built: SimpleNamespace) -> None:
    built.annotations.has_error(
        "/Mixed/BadDaemon",
        Match.string_like_regexp("AWS_XRAY_DAEMON_ADDRESS='nowhere' is not a daemon address"),
    )


def test_python_older_than_the_layer_is_reported(
    built: SimpleNamespace, find_resource: Find
) -> None:
    old = props(built, find_resource, built.fns.old_python)
    assert (old["Handler"], old.get("Layers")) == ("index.handler", None)
    built.annotations.has_warning(
        "/Mixed/OldPython", Match.string_like_regexp("needs python3.10 or newer")
    )


def test_hand_set_handler_variable_is_reported(built: SimpleNamespace, find_resource: Find) -> None:
    assert props(built, find_resource, built.fns.hand_set)["Handler"] == "app.handler"
    built.annotations.has_warning(
        "/Mixed/HandSet", Match.string_like_regexp("LAMBDA_XRAY_HANDLER is set but the handler")
    )


# --- include / exclude ----------------------------------------------------------------------


def test_excluded_by_glob_is_untouched(built: SimpleNamespace, find_resource: Find) -> None:
    skipped = props(built, find_resource, built.fns.skip_glob)
    assert (skipped["Handler"], skipped.get("TracingConfig")) == ("app.handler", None)


def test_excluded_by_construct_is_untouched(built: SimpleNamespace, find_resource: Find) -> None:
    skipped = props(built, find_resource, built.fns.skip_obj)
    assert (skipped["Handler"], skipped.get("TracingConfig")) == ("app.handler", None)


def test_include_limits_the_aspect_to_the_given_constructs() -> None:
    app = cdk.App()
    stack = cdk.Stack(app, "Included")
    chosen = _plain(stack, "Chosen")
    other = _plain(stack, "Other")
    cdk.Aspects.of(app).add(XRayTracing(include=[chosen]))
    template = Template.from_stack(stack).to_json()["Resources"]
    handlers = {
        fn.node.id: template[stack.resolve(_cfn(fn).logical_id)]["Properties"]["Handler"]
        for fn in (chosen, other)
    }
    assert handlers == {"Chosen": _contract.WRAPPER_HANDLER, "Other": "app.handler"}


def test_include_accepts_path_globs() -> None:
    aspect = XRayTracing(include=["Stack/Api*"])
    app = cdk.App()
    stack = cdk.Stack(app, "Stack")
    api = _plain(stack, "ApiHandler")
    worker = _plain(stack, "Worker")
    assert aspect.selects(_cfn(api))
    assert not aspect.selects(_cfn(worker))


# --- never a silent skip ----------------------------------------------------------------------


def test_every_visited_function_is_traced_or_annotated(built: SimpleNamespace) -> None:
    excluded = {built.fns.skip_glob.node.path, built.fns.skip_obj.node.path}
    for c in built.stack.node.find_all():
        if not (isinstance(c, cdk.CfnResource) and c.cfn_resource_type == "AWS::Lambda::Function"):
            continue
        if c.node.scope is None or c.node.scope.node.path in excluded:
            continue
        resource = built.json["Resources"][built.stack.resolve(c.logical_id)]["Properties"]
        redirected = resource.get("Handler") == _contract.WRAPPER_HANDLER
        annotated = any(
            m.type.startswith("aws:cdk:") and "lambda-xray" in str(m.data)
            for owner in (c, c.node.scope)
            for m in (owner.node.metadata if owner is not None else [])
        )
        assert resource.get("TracingConfig"), c.node.path
        assert redirected or annotated, c.node.path


# --- idempotence ------------------------------------------------------------------------------


def _sample_app(aspects: int, traced: bool = False) -> dict[str, Any]:
    app = cdk.App()
    stack = cdk.Stack(app, "Idem")
    if traced:
        TracedFunction(stack, "Fn", runtime=PY, handler="app.handler", code=CODE)
    else:
        _plain(stack, "Fn")
    node = _plain(stack, "Node", runtime=lambda_.Runtime.NODEJS_22_X, handler="index.handler")
    s3.Bucket(stack, "B").add_object_created_notification(s3n.LambdaDestination(node))
    for _ in range(aspects):
        trace_app(app)
    return dict(Template.from_stack(stack).to_json())


def test_applying_the_aspect_twice_changes_nothing() -> None:
    assert _sample_app(aspects=2) == _sample_app(aspects=1)


def test_aspect_leaves_a_traced_function_unchanged() -> None:
    traced = _sample_app(aspects=0, traced=True)
    with_aspect = _sample_app(aspects=1, traced=True)
    fn_ids = [k for k, v in traced["Resources"].items() if k.startswith("Fn")]
    assert fn_ids
    for logical_id in fn_ids:
        assert with_aspect["Resources"][logical_id] == traced["Resources"][logical_id]


def test_aspect_respects_a_traced_function_with_tracing_disabled() -> None:
    app = cdk.App()
    stack = cdk.Stack(app, "Off")
    fn = TracedFunction(
        stack, "Fn", runtime=PY, handler="app.handler", code=CODE, tracing=lambda_.Tracing.DISABLED
    )
    trace_app(app)
    resource = Template.from_stack(stack).to_json()["Resources"][stack.resolve(_cfn(fn).logical_id)]
    assert "TracingConfig" not in resource["Properties"]


# --- options ------------------------------------------------------------------------------------


def test_unknown_context_missing_option_is_an_error() -> None:
    with pytest.raises(
        TracingConfigError, match=r"XRayTracing: context_missing='LOG' is not a context-missing"
    ):
        XRayTracing(context_missing="LOG")


def test_trace_app_returns_the_added_aspect() -> None:
    app = cdk.App()
    aspect = trace_app(app, capture_response=True)
    assert aspect in cdk.Aspects.of(app).all
    assert aspect.capture_response is True


@jsii.implements(cdk.IStableStringProducer)
class _Producer:
    """A Lazy value computed in Python: resolving it calls back into this process."""

    def produce(self) -> str:
        return "computed-late"


def test_python_lazy_values_are_read_and_kept() -> None:
    app = cdk.App()
    stack = cdk.Stack(app, "LazyEnv")
    fn = _plain(stack, "Fn", environment={"LATE_VALUE": cdk.Lazy.string(_Producer())})
    trace_app(app)
    cfn = _cfn(fn)
    resource = Template.from_stack(stack).to_json()["Resources"][stack.resolve(cfn.logical_id)]
    variables = resource["Properties"]["Environment"]["Variables"]
    assert variables["LATE_VALUE"] == "computed-late"
    assert resource["Properties"]["Handler"] == _contract.WRAPPER_HANDLER


@pytest.fixture(scope="module")
def staged() -> SimpleNamespace:
    app = cdk.App()
    stage = cdk.Stage(app, "Prod")
    stack = cdk.Stack(stage, "Api")
    nested = cdk.NestedStack(stack, "Inner")
    in_stage = _plain(stack, "InStage")
    in_nested = _plain(nested, "InNested")
    trace_app(app)
    assembly = stage.synth()
    return SimpleNamespace(
        stack=stack, nested=nested, in_stage=in_stage, in_nested=in_nested, assembly=assembly
    )


def _handler_in(template: dict[str, Any], stack: cdk.Stack, fn: lambda_.Function) -> Any:
    logical_id = stack.resolve(_cfn(fn).logical_id)
    return template["Resources"][logical_id]["Properties"]["Handler"]


def test_trace_app_reaches_functions_inside_a_stage(staged: SimpleNamespace) -> None:
    template = staged.assembly.get_stack_by_name("Prod-Api").template
    assert _handler_in(template, staged.stack, staged.in_stage) == _contract.WRAPPER_HANDLER


def test_trace_app_reaches_functions_in_nested_stacks(staged: SimpleNamespace) -> None:
    path = Path(staged.assembly.directory) / staged.nested.template_file
    template = json.loads(path.read_text())
    assert _handler_in(template, staged.nested, staged.in_nested) == _contract.WRAPPER_HANDLER


# --- functions already traced with aws_xray_sdk -------------------------------------------


def test_functions_using_aws_xray_sdk_are_warned_about_with_the_migration_path(
    tmp_path: Path,
) -> None:
    bundled = tmp_path / "bundled"
    (bundled / "aws_xray_sdk" / "core").mkdir(parents=True)
    (bundled / "aws_xray_sdk" / "__init__.py").write_text("")
    (bundled / "index.py").write_text("def handler(event, context):\n    return 1\n")
    plain_dir = tmp_path / "plain"
    plain_dir.mkdir()
    (plain_dir / "index.py").write_text("def handler(event, context):\n    return 1\n")
    app = cdk.App(outdir=str(tmp_path / "out"))
    stack = cdk.Stack(app, "Sdk")

    def fn(id: str, code: lambda_.Code, **props: Any) -> lambda_.Function:
        return lambda_.Function(
            stack,
            id,
            runtime=lambda_.Runtime.PYTHON_3_12,
            handler="index.handler",
            code=code,
            **props,
        )

    fn("Bundled", lambda_.Code.from_asset(str(bundled)))
    fn("Inline", lambda_.Code.from_inline("from aws_xray_sdk.core import patch_all\n"))
    sdk_layer = lambda_.LayerVersion(
        stack,
        "SdkLayer",
        code=lambda_.Code.from_asset(str(plain_dir)),
        description="AWS X-Ray SDK for Python",
    )
    fn("Layered", lambda_.Code.from_asset(str(plain_dir)), layers=[sdk_layer])
    fn("Plain", lambda_.Code.from_asset(str(plain_dir)))
    trace_app(app)
    annotations = Annotations.from_stack(stack)
    sdk = Match.string_like_regexp(r"uses aws_xray_sdk .*Fix: move to lambda_xray")
    for name in ("Bundled", "Inline", "Layered"):
        annotations.has_warning(f"/Sdk/{name}", sdk)
    annotations.has_no_warning("/Sdk/Plain", Match.any_value())
    # Still traced with the layer: at run time each call is recorded once.
    template = Template.from_stack(stack).to_json()["Resources"]
    bundled_fn = template[stack.resolve(_cfn(stack.node.find_child("Bundled")).logical_id)]
    assert bundled_fn["Properties"]["Handler"] == _contract.WRAPPER_HANDLER


def test_two_raw_functions_sharing_a_raw_role_name_it_once() -> None:
    app = cdk.App()
    stack = cdk.Stack(app, "SharedRaw")
    role = iam.CfnRole(
        stack,
        "RawRole",
        assume_role_policy_document={
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": "sts:AssumeRole",
                    "Principal": {"Service": "lambda.amazonaws.com"},
                }
            ]
        },
    )
    for name in ("One", "Two"):
        lambda_.CfnFunction(
            stack,
            name,
            role=role.attr_arn,
            runtime="python3.12",
            handler="index.handler",
            code=lambda_.CfnFunction.CodeProperty(zip_file="def handler(e, c):\n    return 1\n"),
        )
    trace_app(app)
    template = Template.from_stack(stack).to_json()["Resources"]
    (policy_id,) = [k for k, v in template.items() if v["Type"] == "AWS::IAM::ManagedPolicy"]
    assert template[policy_id]["Properties"]["Roles"] == [{"Ref": "RawRole"}]
    for name in ("One", "Two"):
        assert policy_id in template[name]["DependsOn"]
