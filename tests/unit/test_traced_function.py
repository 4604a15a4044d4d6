"""TracedFunction: what a user sees in the synthesized template."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Annotations, Match, Template
from constructs import IConstruct

from cdk_lambda_xray import LayerParts, _contract
from cdk_lambda_xray._permissions import MANAGED_POLICY_ID
from cdk_lambda_xray.function import ContextMissing, TracedFunction
from cdk_lambda_xray.layer import TracingLayer

CODE = lambda_.Code.from_inline("def handler(event, context):\n    return event\n")
PY = lambda_.Runtime.PYTHON_3_12
Find = Callable[[dict[str, Any], Any], dict[str, Any]]


def _cfn(construct: IConstruct) -> cdk.CfnResource:
    """The L1 resource behind an L2 construct."""
    child = construct.node.default_child
    assert isinstance(child, cdk.CfnResource), construct.node.path
    return child


def _fn(scope: cdk.Stack, id: str, **props: Any) -> TracedFunction:
    props.setdefault("runtime", PY)
    props.setdefault("handler", "app.handler")
    props.setdefault("code", CODE)
    return TracedFunction(scope, id, **props)


@pytest.fixture(scope="module")
def built() -> SimpleNamespace:
    app = cdk.App()
    stack = cdk.Stack(app, "Traced")
    repo = ecr.Repository.from_repository_name(stack, "Repo", "images")
    own_role = iam.Role(stack, "OwnRole", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    fns = SimpleNamespace(
        default=_fn(stack, "Default"),
        arm=_fn(stack, "Arm", architecture=lambda_.Architecture.ARM_64),
        custom=_fn(
            stack,
            "Custom",
            service_name="orders",
            capture_response=True,
            capture_error=False,
            context_missing=ContextMissing.IGNORE_ERROR,
            environment={"TABLE_NAME": "orders-table"},
            memory_size=512,
            timeout=cdk.Duration.seconds(9),
            description="keeps its props",
        ),
        string_cm=_fn(stack, "StringContextMissing", context_missing="RUNTIME_ERROR"),
        user_env=_fn(
            stack,
            "UserEnv",
            environment={
                _contract.ENV_SERVICE_NAME: "from-env",
                _contract.ENV_CONTEXT_MISSING: "IGNORE_ERROR",
                _contract.ENV_CAPTURE_RESPONSE: "true",
            },
        ),
        same_value=_fn(
            stack,
            "SameValue",
            service_name="same",
            environment={_contract.ENV_SERVICE_NAME: "same"},
        ),
        pass_through=_fn(stack, "PassThrough", tracing=lambda_.Tracing.PASS_THROUGH),
        disabled=_fn(stack, "Disabled", tracing=lambda_.Tracing.DISABLED),
        node=_fn(stack, "Node", runtime=lambda_.Runtime.NODEJS_22_X, handler="index.handler"),
        node_options=_fn(
            stack,
            "NodeOptions",
            runtime=lambda_.Runtime.NODEJS_22_X,
            handler="index.handler",
            service_name="ignored",
        ),
        old_python=_fn(
            stack,
            "OldPython",
            runtime=lambda_.Runtime("python3.9", lambda_.RuntimeFamily.PYTHON),
            code=lambda_.Code.from_bucket(
                s3.Bucket.from_bucket_name(stack, "Src", "src-bucket"), "fn.zip"
            ),
        ),
        image=_fn(
            stack,
            "Image",
            runtime=lambda_.Runtime.FROM_IMAGE,
            handler=lambda_.Handler.FROM_IMAGE,
            code=lambda_.Code.from_ecr_image(repo),
        ),
        own_role=_fn(stack, "OwnRoleFn", role=own_role),
        imported_role=_fn(
            stack,
            "ImportedRoleFn",
            role=iam.Role.from_role_arn(
                stack, "Imported", "arn:aws:iam::123456789012:role/fixed", mutable=False
            ),
        ),
        four_layers=_fn(
            stack,
            "FourLayers",
            layers=[
                lambda_.LayerVersion.from_layer_version_arn(
                    stack, f"L{i}", f"arn:aws:lambda:us-east-1:123456789012:layer:l{i}:1"
                )
                for i in range(4)
            ],
        ),
        token_env=_fn(
            stack,
            "TokenEnv",
            environment={
                _contract.ENV_DAEMON_ADDRESS: cdk.Fn.import_value("DaemonAddress"),
                _contract.ENV_CONTEXT_MISSING: cdk.Fn.ref("AWS::NoValue"),
            },
        ),
        daemon=_fn(
            stack,
            "Daemon",
            environment={_contract.ENV_DAEMON_ADDRESS: "tcp:10.0.0.1:2000 udp:10.0.0.2:2001"},
        ),
    )
    template = Template.from_stack(stack)
    return SimpleNamespace(
        app=app,
        stack=stack,
        fns=fns,
        template=template,
        json=template.to_json(),
        role=own_role,
        annotations=Annotations.from_stack(stack),
    )


def props(built: SimpleNamespace, find: Find, fn: Any) -> dict[str, Any]:
    result: dict[str, Any] = find(built.json, fn)["Properties"]
    return result


def env(built: SimpleNamespace, find: Find, fn: Any) -> dict[str, Any]:
    result: dict[str, Any] = props(built, find, fn).get("Environment", {}).get("Variables", {})
    return result


def policies_of(built: SimpleNamespace, role: iam.IRole) -> list[dict[str, Any]]:
    """Every policy the role gets: ``AWS::IAM::Policy``, inline, and the stack's managed ones."""
    role_id = built.stack.resolve(_cfn(role).logical_id)
    resources = built.json["Resources"]
    role_props = resources[role_id]["Properties"]
    separate = [
        r["Properties"]
        for r in resources.values()
        if r["Type"] == "AWS::IAM::Policy" and {"Ref": role_id} in r["Properties"].get("Roles", [])
    ]
    inline: list[dict[str, Any]] = role_props.get("Policies", [])
    managed = [
        resources[arn["Ref"]]["Properties"]
        for arn in role_props.get("ManagedPolicyArns", [])
        if isinstance(arn, dict) and "Ref" in arn
    ]
    return separate + inline + managed


def separate_policies_of(built: SimpleNamespace, role: iam.IRole) -> list[str]:
    """Logical ids of the ``AWS::IAM::Policy`` resources attached to the role."""
    role_ref = {"Ref": built.stack.resolve(_cfn(role).logical_id)}
    return [
        logical_id
        for logical_id, r in built.json["Resources"].items()
        if r["Type"] == "AWS::IAM::Policy" and role_ref in r["Properties"].get("Roles", [])
    ]


def managed_policy_id(built: SimpleNamespace) -> str:
    """Logical id of the stack's shared X-Ray write managed policy."""
    policy = built.stack.node.find_child(MANAGED_POLICY_ID).node.default_child
    logical_id: str = built.stack.resolve(policy.logical_id)
    return logical_id


XRAY_STATEMENT = {
    "Sid": "LambdaXrayWrite",
    "Effect": "Allow",
    "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
    "Resource": "*",
}


# --- tracing mode -------------------------------------------------------------


def test_tracing_is_active_by_default(built: SimpleNamespace, find_resource: Find) -> None:
    assert props(built, find_resource, built.fns.default)["TracingConfig"] == {"Mode": "Active"}


def test_pass_through_is_selectable(built: SimpleNamespace, find_resource: Find) -> None:
    tracing = props(built, find_resource, built.fns.pass_through)["TracingConfig"]
    assert tracing == {"Mode": "PassThrough"}


def test_disabled_renders_no_tracing_config(built: SimpleNamespace, find_resource: Find) -> None:
    assert "TracingConfig" not in props(built, find_resource, built.fns.disabled)


# --- permission -----------------------------------------------------------------


def test_role_gets_the_xray_write_statement(built: SimpleNamespace) -> None:
    policies = policies_of(built, built.fns.default.role)
    assert [p["PolicyDocument"]["Statement"] for p in policies] == [[XRAY_STATEMENT]]


def test_own_role_gets_the_stacks_managed_policy_and_nothing_inline(built: SimpleNamespace) -> None:
    role = built.json["Resources"][built.stack.resolve(_cfn(built.fns.default.role).logical_id)]
    assert {"Ref": managed_policy_id(built)} in role["Properties"]["ManagedPolicyArns"]
    assert "Policies" not in role["Properties"]


def test_own_role_gets_no_separate_policy(built: SimpleNamespace) -> None:
    assert separate_policies_of(built, built.fns.default.role) == []


def test_one_managed_policy_serves_every_function_of_the_stack(built: SimpleNamespace) -> None:
    built.template.resource_count_is("AWS::IAM::ManagedPolicy", 1)
    policy = built.json["Resources"][managed_policy_id(built)]["Properties"]
    assert policy["PolicyDocument"]["Statement"] == [XRAY_STATEMENT]


def test_function_waits_for_its_role_and_so_for_the_policy(
    built: SimpleNamespace, find_resource: Find
) -> None:
    depends = find_resource(built.json, built.fns.default)["DependsOn"]
    assert built.stack.resolve(_cfn(built.fns.default.role).logical_id) in depends


def test_a_passed_role_gets_the_managed_policy_and_the_function_waits_for_it(
    built: SimpleNamespace, find_resource: Find
) -> None:
    role_id = built.stack.resolve(_cfn(built.role).logical_id)
    assert find_resource(built.json, built.fns.own_role)["Properties"]["Role"] == {
        "Fn::GetAtt": [role_id, "Arn"]
    }
    role = built.json["Resources"][role_id]["Properties"]
    assert role["ManagedPolicyArns"] == [{"Ref": managed_policy_id(built)}]
    assert separate_policies_of(built, built.role) == []


@pytest.mark.parametrize("name", ["AWSXrayWriteOnlyAccess", "AWSXRayDaemonWriteAccess"])
def test_a_role_with_an_aws_xray_write_policy_gets_nothing_more(name: str) -> None:
    app = cdk.App()
    stack = cdk.Stack(app, "HasXray")
    role = iam.Role(
        stack,
        "Role",
        assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
        managed_policies=[iam.ManagedPolicy.from_aws_managed_policy_name(name)],
    )
    _fn(stack, "Fn", role=role)
    template = Template.from_stack(stack)
    template.resource_count_is("AWS::IAM::ManagedPolicy", 0)
    template.resource_count_is("AWS::IAM::Policy", 0)


def test_passed_role_keeps_its_own_inline_policies() -> None:
    app = cdk.App()
    stack = cdk.Stack(app, "InlineKept")
    mine = iam.PolicyDocument(
        statements=[iam.PolicyStatement(actions=["s3:GetObject"], resources=["arn:aws:s3:::b/*"])]
    )
    role = iam.Role(
        stack,
        "Role",
        assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
        inline_policies={"Mine": mine},
    )
    _fn(stack, "Fn", role=role)
    template = Template.from_stack(stack)
    template.has_resource_properties(
        "AWS::IAM::Role", {"Policies": [Match.object_like({"PolicyName": "Mine"})]}
    )
    template.has_resource_properties(
        "AWS::IAM::ManagedPolicy", {"PolicyDocument": {"Statement": [XRAY_STATEMENT]}}
    )


def test_a_role_passed_by_the_user_gets_the_statement(built: SimpleNamespace) -> None:
    policies = policies_of(built, built.role)
    assert [p["PolicyDocument"]["Statement"] for p in policies] == [[XRAY_STATEMENT]]


def test_pass_through_adds_no_xray_permission(built: SimpleNamespace) -> None:
    assert policies_of(built, built.fns.pass_through.role) == []


def test_disabled_adds_no_xray_permission(built: SimpleNamespace) -> None:
    assert policies_of(built, built.fns.disabled.role) == []


def test_immutable_role_is_warned_about(built: SimpleNamespace) -> None:
    built.annotations.has_warning(
        "/Traced/ImportedRoleFn",
        Match.string_like_regexp("accepts no new policy.*xray:PutTraceSegments"),
    )


def test_immutable_role_is_left_untouched(built: SimpleNamespace) -> None:
    roles = [
        role
        for r in built.json["Resources"].values()
        if r["Type"] == "AWS::IAM::Policy"
        for role in r["Properties"]["Roles"]
    ]
    assert "fixed" not in roles


def test_imported_mutable_role_gets_the_statement_in_its_default_policy() -> None:
    app = cdk.App()
    stack = cdk.Stack(app, "ImportedMutable")
    role = iam.Role.from_role_arn(stack, "Shared", "arn:aws:iam::123456789012:role/shared")
    _fn(stack, "One", role=role)
    _fn(stack, "Two", role=role)
    Template.from_stack(stack).has_resource_properties(
        "AWS::IAM::Policy",
        {"Roles": ["shared"], "PolicyDocument": {"Statement": [XRAY_STATEMENT]}},
    )


# --- handler redirect and layer ---------------------------------------------------


def test_python_handler_is_redirected(built: SimpleNamespace, find_resource: Find) -> None:
    assert props(built, find_resource, built.fns.default)["Handler"] == _contract.WRAPPER_HANDLER


def test_original_handler_is_kept_in_the_environment(
    built: SimpleNamespace, find_resource: Find
) -> None:
    assert env(built, find_resource, built.fns.default)[_contract.ENV_HANDLER] == "app.handler"


def test_python_function_gets_the_shared_layer(built: SimpleNamespace, find_resource: Find) -> None:
    layer = TracingLayer.of(built.stack, PY)
    layer_ref = {"Ref": built.stack.resolve(_cfn(layer).logical_id)}
    assert props(built, find_resource, built.fns.default)["Layers"] == [layer_ref]


def test_one_layer_serves_every_function_that_needs_the_same_parts(
    built: SimpleNamespace, find_resource: Find
) -> None:
    # inline code: the core alone, shared; imported layers cannot be read: every part
    core = props(built, find_resource, built.fns.default)["Layers"]
    assert props(built, find_resource, built.fns.custom)["Layers"] == core
    everything = TracingLayer.of(built.stack, PY, LayerParts.ALL)
    assert props(built, find_resource, built.fns.four_layers)["Layers"][-1] == {
        "Ref": built.stack.resolve(_cfn(everything).logical_id)
    }
    built.template.resource_count_is("AWS::Lambda::LayerVersion", 2)


def test_user_layers_come_first_and_five_are_allowed(
    built: SimpleNamespace, find_resource: Find
) -> None:
    layers = props(built, find_resource, built.fns.four_layers)["Layers"]
    assert len(layers) == 5
    assert layers[:4] == [f"arn:aws:lambda:us-east-1:123456789012:layer:l{i}:1" for i in range(4)]


def test_arm64_function_is_traced_with_the_same_layer(
    built: SimpleNamespace, find_resource: Find
) -> None:
    arm = props(built, find_resource, built.fns.arm)
    assert arm["Architectures"] == ["arm64"]
    assert arm["Layers"] == props(built, find_resource, built.fns.default)["Layers"]
    assert arm["Handler"] == _contract.WRAPPER_HANDLER


# --- environment ----------------------------------------------------------------------


def test_defaults_written_to_the_environment(built: SimpleNamespace, find_resource: Find) -> None:
    assert env(built, find_resource, built.fns.default) == {
        _contract.ENV_HANDLER: "app.handler",
        _contract.ENV_CONTEXT_MISSING: "LOG_ERROR",
        _contract.ENV_CAPTURE_RESPONSE: "false",
        _contract.ENV_CAPTURE_ERROR: "true",
    }


def test_options_become_layer_switches(built: SimpleNamespace, find_resource: Find) -> None:
    variables = env(built, find_resource, built.fns.custom)
    assert variables[_contract.ENV_SERVICE_NAME] == "orders"
    assert variables[_contract.ENV_CAPTURE_RESPONSE] == "true"
    assert variables[_contract.ENV_CAPTURE_ERROR] == "false"
    assert variables[_contract.ENV_CONTEXT_MISSING] == "IGNORE_ERROR"


def test_user_variables_are_kept(built: SimpleNamespace, find_resource: Find) -> None:
    assert env(built, find_resource, built.fns.custom)["TABLE_NAME"] == "orders-table"


def test_other_function_props_keep_working(built: SimpleNamespace, find_resource: Find) -> None:
    custom = props(built, find_resource, built.fns.custom)
    assert (custom["MemorySize"], custom["Timeout"], custom["Description"]) == (
        512,
        9,
        "keeps its props",
    )


def test_context_missing_accepts_a_plain_string(
    built: SimpleNamespace, find_resource: Find
) -> None:
    variables = env(built, find_resource, built.fns.string_cm)
    assert variables[_contract.ENV_CONTEXT_MISSING] == "RUNTIME_ERROR"


def test_user_set_layer_variables_win_over_defaults(
    built: SimpleNamespace, find_resource: Find
) -> None:
    variables = env(built, find_resource, built.fns.user_env)
    assert variables[_contract.ENV_SERVICE_NAME] == "from-env"
    assert variables[_contract.ENV_CONTEXT_MISSING] == "IGNORE_ERROR"
    assert variables[_contract.ENV_CAPTURE_RESPONSE] == "true"


def test_prop_and_variable_with_the_same_value_agree(
    built: SimpleNamespace, find_resource: Find
) -> None:
    assert env(built, find_resource, built.fns.same_value)[_contract.ENV_SERVICE_NAME] == "same"


def test_unresolved_tokens_are_not_validated(built: SimpleNamespace, find_resource: Find) -> None:
    variables = env(built, find_resource, built.fns.token_env)
    assert variables[_contract.ENV_DAEMON_ADDRESS] == {"Fn::ImportValue": "DaemonAddress"}


def test_two_part_daemon_address_is_accepted(built: SimpleNamespace, find_resource: Find) -> None:
    variables = env(built, find_resource, built.fns.daemon)
    assert variables[_contract.ENV_DAEMON_ADDRESS] == "tcp:10.0.0.1:2000 udp:10.0.0.2:2001"


# --- other runtimes --------------------------------------------------------------------


def test_node_function_is_traced_without_the_layer(
    built: SimpleNamespace, find_resource: Find
) -> None:
    node = props(built, find_resource, built.fns.node)
    assert (node["Handler"], node.get("Layers"), node["TracingConfig"]) == (
        "index.handler",
        None,
        {"Mode": "Active"},
    )
    assert node["Environment"]["Variables"] == {_contract.ENV_CONTEXT_MISSING: "LOG_ERROR"}


def test_node_function_gets_the_permission(built: SimpleNamespace) -> None:
    policies = policies_of(built, built.fns.node.role)
    assert [p["PolicyDocument"]["Statement"] for p in policies] == [[XRAY_STATEMENT]]


def test_node_function_is_annotated(built: SimpleNamespace) -> None:
    built.annotations.has_info(
        "/Traced/Node",
        Match.string_like_regexp("nodejs22.x function.*without the Python tracing layer"),
    )


def test_image_function_is_traced_without_the_layer(
    built: SimpleNamespace, find_resource: Find
) -> None:
    image = props(built, find_resource, built.fns.image)
    assert (image["PackageType"], image.get("Layers"), image["TracingConfig"]) == (
        "Image",
        None,
        {"Mode": "Active"},
    )
    assert "Handler" not in image


def test_image_function_is_annotated(built: SimpleNamespace) -> None:
    built.annotations.has_info(
        "/Traced/Image",
        Match.string_like_regexp("container image.*without the Python tracing layer"),
    )


# --- explicit layer -----------------------------------------------------------------------


def test_an_explicit_tracing_layer_is_used() -> None:
    app = cdk.App()
    stack = cdk.Stack(app, "Explicit")
    layer = lambda_.LayerVersion.from_layer_version_arn(
        stack, "Mine", "arn:aws:lambda:us-east-1:123456789012:layer:lambda-xray:7"
    )
    fn = _fn(stack, "Fn", tracing_layer=layer)
    cfn = fn.node.default_child
    assert isinstance(cfn, lambda_.CfnFunction)
    assert stack.resolve(cfn.layers) == [layer.layer_version_arn]
    assert not [c for c in stack.node.children if isinstance(c, TracingLayer)]


def test_options_that_need_the_layer_are_named_for_other_runtimes(built: SimpleNamespace) -> None:
    built.annotations.has_info(
        "/Traced/NodeOptions",
        Match.string_like_regexp(r"\(service_name apply only with the layer\)"),
    )


def test_python_older_than_the_layer_is_traced_without_it(
    built: SimpleNamespace, find_resource: Find
) -> None:
    old = props(built, find_resource, built.fns.old_python)
    assert (old["Handler"], old.get("Layers"), old["TracingConfig"]) == (
        "app.handler",
        None,
        {"Mode": "Active"},
    )


def test_python_older_than_the_layer_is_warned_about(built: SimpleNamespace) -> None:
    built.annotations.has_warning(
        "/Traced/OldPython", Match.string_like_regexp("needs python3.10 or newer; python3.9")
    )


# --- the examples in docs/constructs.md run as written ---------------------------------------

DOCS = Path(__file__).resolve().parents[2] / "docs" / "constructs.md"
EXAMPLES = re.findall(r"```python\n(.*?)```", DOCS.read_text(), flags=re.DOTALL)


def test_docs_have_examples() -> None:
    assert len(EXAMPLES) >= 4


@pytest.mark.parametrize("source", EXAMPLES, ids=[f"example{i}" for i in range(len(EXAMPLES))])
def test_docs_example_runs(source: str, tmp_path: Path) -> None:
    assert source.count("cdk.App()") == 1
    runnable = source.replace("cdk.App()", f"cdk.App(outdir={str(tmp_path)!r})")
    exec(compile(runnable, str(DOCS), "exec"), {"__name__": "docs_example"})
    assert (tmp_path / "manifest.json").is_file()


# --- synth cost -------------------------------------------------------------------------


def test_each_function_after_the_first_makes_few_jsii_calls(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every jsii call is a round trip to node; synth time per function follows their count.

    Counts the calls one more ``TracedFunction`` makes in a stack that already has
    one (its own ``Function`` creation included), using the real jsii kernel.
    """
    import jsii

    app = cdk.App()
    stack = cdk.Stack(app, "Budget")
    runtime = PY
    _fn(stack, "First", runtime=runtime)
    calls: list[str] = []
    provider = jsii.kernel.provider
    for name in ("create", "get", "set", "invoke", "sget", "sset", "sinvoke"):
        original = getattr(provider, name)

        def counted(request: Any, _original: Any = original, _name: str = name) -> Any:
            calls.append(_name)
            return _original(request)

        monkeypatch.setattr(provider, name, counted)
    _fn(stack, "Second", runtime=runtime)
    monkeypatch.undo()
    # create, its node and constructs (2: the function resource, its own role and its
    # code's staging), its code (1: the L1's properties, for inline code; the staged
    # path for an asset), the layer with the parts that code needs, tracing config,
    # the stack's X-Ray managed policy added to that role.
    assert len(calls) <= 7, calls


def test_code_bundling_aws_xray_sdk_is_warned_about(tmp_path: Path) -> None:
    (tmp_path / "aws_xray_sdk").mkdir()
    (tmp_path / "aws_xray_sdk" / "__init__.py").write_text("")
    (tmp_path / "app.py").write_text("def handler(event, context):\n    return 1\n")
    stack = cdk.Stack(cdk.App(), "SdkBundled")
    _fn(stack, "Fn", code=lambda_.Code.from_asset(str(tmp_path)))
    _fn(stack, "Clean")
    annotations = Annotations.from_stack(stack)
    annotations.has_warning(
        "/SdkBundled/Fn", Match.string_like_regexp("aws_xray_sdk/ in the asset.*Fix: move to")
    )
    annotations.has_no_warning("/SdkBundled/Clean", Match.any_value())
