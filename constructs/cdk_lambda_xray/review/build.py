"""Build the :class:`~.model.Model` from an :class:`~.assembly.Assembly`.

Walks every template once, resolves the references that link resources
(function -> role -> policies, layers; event sources -> functions; API stages,
topics, state machines) and records what it could not resolve.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any, Final

from .._tracers import XRAY_SDK, XRAY_SDK_MODULE, layer_tracer, xray_sdk_in_code, xray_sdk_in_tree
from .assembly import Assembly, Template
from .files import AssemblyError, asset_contains, parse_json_text
from .model import (
    ApiStage,
    Downstream,
    EventSource,
    Function,
    HopStatus,
    Layer,
    Model,
    Role,
    StateMachine,
    Statement,
    Topic,
    Unresolved,
    XRayPolicy,
)
from .resolve import Resolver, ResourceId, StackScope, Target, Value
from .tracers import OURS, detect, is_xray_sdk, layer_tracer_from_arn, xray_sdk_tracer

_LAMBDA_ARN = re.compile(r"^arn:[^:]*:lambda:[^:]*:[^:]*:function:([^:]+)(?::[^:]+)?$")
_ROLE_ARN = re.compile(r":role/(?:.*/)?([^/]+)$")
_OUR_LAYER_FILES: Final = ("python/lambda_xray/handler.py", "python/lambda_xray/_contract.py")
_OUR_DESCRIPTION = re.compile(r"lambda[-_]xray", re.I)

#: CDK-internal functions: (kind, marker in construct path / logical id / description)
_INTERNAL_MARKERS: Final = (
    (
        "S3 bucket notifications handler",
        "BucketNotificationsHandler050a0587b7544547bf325f094a3db834",
    ),
    ("S3 bucket notifications handler", 'handler for "Custom::S3BucketNotifications"'),
    ("log retention", "LogRetentionaae0aa3c5b4d4f87b02d85b201efdd8a"),
    ("S3 auto-delete objects", "S3AutoDeleteObjectsCustomResourceProvider"),
    ("AwsCustomResource", "AWS679f53fac002430cb0da5b7982bd2287"),
    ("bucket deployment", "CustomCDKBucketDeployment8693BB64968944B69AAFB0CC9EB8756C"),
    ("custom resource provider framework", "AWS CDK resource provider framework"),
    ("custom resource provider", "CustomResourceProvider"),
)

#: actions Lambda's event-source poller uses with the function's role (not the code's calls)
_POLLER_ACTIONS: Final = frozenset(
    a.lower()
    for a in (
        "sqs:ReceiveMessage",
        "sqs:ChangeMessageVisibility",
        "sqs:GetQueueUrl",
        "sqs:DeleteMessage",
        "sqs:GetQueueAttributes",
        "dynamodb:DescribeStream",
        "dynamodb:GetRecords",
        "dynamodb:GetShardIterator",
        "dynamodb:ListStreams",
        "kinesis:DescribeStream",
        "kinesis:DescribeStreamSummary",
        "kinesis:GetRecords",
        "kinesis:GetShardIterator",
        "kinesis:ListShards",
        "kinesis:ListStreams",
        "kinesis:SubscribeToShard",
    )
)
#: services whose permissions are plumbing, not downstream calls
_NOT_DOWNSTREAM: Final = frozenset({"xray", "logs"})

#: event source kind -> (hop status, detail) when the status does not depend on a setting
_FIXED_HOPS: Final = {
    "sqs": (HopStatus.PROPAGATED, "SQS passes the trace header (AWSTraceHeader) to Lambda"),
    "s3": (HopStatus.PROPAGATED, "S3 passes the trace context to the notification"),
    "eventbridge": (HopStatus.PROPAGATED, "EventBridge passes the trace header to its targets"),
    "alb": (HopStatus.PROPAGATED, "the load balancer adds X-Amzn-Trace-Id"),
    "apigateway-v2": (
        HopStatus.NOT_SUPPORTED,
        "HTTP and WebSocket APIs do not support X-Ray; the trace starts at the function",
    ),
    "dynamodb-stream": (
        HopStatus.NOT_SUPPORTED,
        "stream records carry no trace context; the trace starts at the function",
    ),
    "kinesis": (
        HopStatus.NOT_SUPPORTED,
        "stream records carry no trace context; the trace starts at the function",
    ),
    "scheduler": (HopStatus.NOT_SUPPORTED, "each scheduled invocation starts a new trace"),
}

_TYPE_KIND: Final = {
    "AWS::SQS::Queue": "sqs",
    "AWS::DynamoDB::Table": "dynamodb-stream",
    "AWS::DynamoDB::GlobalTable": "dynamodb-stream",
    "AWS::Kinesis::Stream": "kinesis",
    "AWS::Kinesis::StreamConsumer": "kinesis",
    "AWS::S3::Bucket": "s3",
    "AWS::SNS::Topic": "sns",
    "AWS::Events::Rule": "eventbridge",
    "AWS::ApiGateway::RestApi": "apigateway",
    "AWS::ApiGatewayV2::Api": "apigateway-v2",
    "AWS::StepFunctions::StateMachine": "stepfunctions",
    "AWS::Scheduler::Schedule": "scheduler",
    "AWS::ElasticLoadBalancingV2::TargetGroup": "alb",
}

_ARN_SERVICE_KIND: Final = {
    "sqs": "sqs",
    "kinesis": "kinesis",
    "dynamodb": "dynamodb-stream",
    "s3": "s3",
    "sns": "sns",
    "events": "eventbridge",
    "execute-api": "apigateway",
    "states": "stepfunctions",
    "kafka": "kafka",
    "mq": "mq",
}

_PRINCIPAL_KIND: Final = {
    "s3.amazonaws.com": "s3",
    "sns.amazonaws.com": "sns",
    "sqs.amazonaws.com": "sqs",
    "events.amazonaws.com": "eventbridge",
    "apigateway.amazonaws.com": "apigateway",
    "states.amazonaws.com": "stepfunctions",
    "scheduler.amazonaws.com": "scheduler",
    "elasticloadbalancing.amazonaws.com": "alb",
}


def build_model(assembly: Assembly) -> Model:
    """Link the resources of every template of ``assembly`` into a :class:`Model`."""
    return _Builder(assembly).build()


class _Builder:
    def __init__(self, assembly: Assembly) -> None:
        self.assembly = assembly
        self.templates = assembly.templates
        scopes = {
            key: StackScope(
                key=key,
                resources=t.resources,
                parameters=_mapping(t.body.get("Parameters")),
                outputs=_mapping(t.body.get("Outputs")),
                parent=t.parent,
                children=t.children,
            )
            for key, t in self.templates.items()
        }
        self.resolver = Resolver(scopes)
        self.model = Model(source=str(assembly.root), stacks=list(self.templates))
        self.layers: dict[ResourceId, Layer] = {}
        self.by_type: dict[str, list[tuple[ResourceId, dict[str, Any]]]] = {}
        self.functions_by_name: dict[str, ResourceId] = {}
        self.roles_by_name: dict[str, ResourceId] = {}
        self._edge_keys: set[tuple[object, ...]] = set()
        #: managed policy -> roles naming it in ManagedPolicyArns (one pass, not roles x policies)
        self._managed_users: dict[ResourceId, list[ResourceId]] = {}
        self._our_assets: dict[Path, bool] = {}

    # -- driver ---------------------------------------------------------------
    def build(self) -> Model:
        self._index()
        self._roles()
        self._layers()
        self._functions()
        self._topics()
        self._stages()
        self._state_machines()
        self._xray_policies()
        self._event_sources()
        self._downstream()
        # last: reading layer assets may add notes (an asset path outside the assembly)
        self.model.notes.extend(self.assembly.notes)
        return self.model

    def _index(self) -> None:
        for key, template in self.templates.items():
            for logical_id, resource in template.resources.items():
                if not isinstance(resource, dict):
                    continue
                rid = ResourceId(key, logical_id)
                rtype = str(resource.get("Type", ""))
                self.model.types[rid] = rtype
                self.model.paths[rid] = _display_path(template, logical_id)
                self.by_type.setdefault(rtype, []).append((rid, resource))
                if rtype == "AWS::Serverless::Function":
                    self._unresolved(
                        rid,
                        "Type",
                        rtype,
                        "SAM resources are not expanded; review the processed template "
                        "(sam build / aws cloudformation get-template --template-stage Processed)",
                    )

    def _of_type(self, *types: str) -> Iterator[tuple[ResourceId, dict[str, Any]]]:
        for rtype in types:
            yield from self.by_type.get(rtype, ())

    def _resolve(self, rid: ResourceId, expr: Any) -> Value:
        return self.resolver.resolve(rid.stack, expr)

    def _unresolved(self, rid: ResourceId, prop: str, expression: str, reason: str) -> None:
        where = f"{self.model.path_of(rid)} ({prop})"
        self.model.unresolved.append(Unresolved(where, expression, reason))

    def _note_unknowns(self, rid: ResourceId, prop: str, value: Value) -> None:
        for part in value.unknowns:
            self._unresolved(rid, prop, part.expression, part.reason)

    # -- IAM --------------------------------------------------------------------
    def _roles(self) -> None:
        for rid, res in self._of_type("AWS::IAM::Role"):
            props = _props(res)
            role = Role(id=rid, path=self.model.path_of(rid))
            for policy in _list(props.get("Policies")):
                if isinstance(policy, dict):
                    name = str(policy.get("PolicyName", "inline"))
                    role.statements += self._statements(rid, policy.get("PolicyDocument"), name)
            for arn in _list(props.get("ManagedPolicyArns")):
                value = self._resolve(rid, arn)
                target = value.only_target()
                if target is not None and self.model.types.get(target.resource) == (
                    "AWS::IAM::ManagedPolicy"
                ):
                    self._managed_users.setdefault(target.resource, []).append(rid)
                    continue  # attached from the managed policy's side below
                role.managed_policies.append(value.text())
            role_name = (
                self._resolve(rid, props.get("RoleName")).literal if "RoleName" in props else None
            )
            if role_name:
                self.roles_by_name[role_name] = rid
            self.model.roles[rid] = role
        attachers = (
            ("AWS::IAM::Policy", "Roles"),
            ("AWS::IAM::ManagedPolicy", "Roles"),
            ("AWS::IAM::RolePolicy", "RoleName"),
        )
        for rtype, key in attachers:
            for rid, res in self._of_type(rtype):
                props = _props(res)
                statements = self._statements(
                    rid, props.get("PolicyDocument"), self.model.path_of(rid)
                )
                for ref in _list(props.get(key)):
                    attached = self._role_of(self._resolve(rid, ref))
                    if attached is not None:
                        attached.statements += statements
        for rid, _res in self._of_type("AWS::IAM::ManagedPolicy"):
            self._attach_managed_by_role_reference(rid)

    def _attach_managed_by_role_reference(self, policy: ResourceId) -> None:
        for role_rid in self._managed_users.get(policy, ()):
            doc = _props(self.templates[policy.stack].resources[policy.logical_id])
            self.model.roles[role_rid].statements += self._statements(
                policy, doc.get("PolicyDocument"), self.model.path_of(policy)
            )

    def _role_of(self, value: Value) -> Role | None:
        target = value.only_target()
        if target is not None:
            return self.model.roles.get(target.resource)
        text = value.concrete
        if text:
            match = _ROLE_ARN.search(text)
            rid = self.roles_by_name.get(match.group(1) if match else text)
            return self.model.roles.get(rid) if rid else None
        return None

    def _statements(self, rid: ResourceId, document: Any, source: str) -> list[Statement]:
        if not isinstance(document, dict):
            return []
        out = []
        for raw in _list(document.get("Statement")):
            if not isinstance(raw, dict):
                continue
            out.append(
                Statement(
                    effect=str(raw.get("Effect", "Allow")),
                    actions=tuple(str(a) for a in _list(raw.get("Action"))),
                    not_actions=tuple(str(a) for a in _list(raw.get("NotAction"))),
                    resources=tuple(self._resolve(rid, r) for r in _list(raw.get("Resource"))),
                    source=source,
                    has_condition=bool(raw.get("Condition")),
                )
            )
        return out

    # -- layers and functions -------------------------------------------------
    def _layers(self) -> None:
        for rid, res in self._of_type("AWS::Lambda::LayerVersion"):
            props = _props(res)
            description = self._resolve(rid, props.get("Description")).literal
            name = self._resolve(rid, props.get("LayerName")).literal
            layer = Layer(label=name or self.model.path_of(rid), id=rid, description=description)
            asset = self._asset_of(res, props.get("Content"))
            if asset is not None and self._is_our_asset(asset):
                layer.tracer, layer.evidence = OURS, f"asset {asset.name} contains lambda_xray"
            elif description and _OUR_DESCRIPTION.search(description):
                layer.tracer, layer.evidence = OURS, f"description {description!r}"
            else:
                sdk = _xray_sdk_layer(asset, name, description)
                if sdk is not None:
                    layer.tracer, layer.evidence = XRAY_SDK.name, sdk
            self.layers[rid] = layer

    def _is_our_asset(self, asset: Path) -> bool:
        """Whether the layer asset holds lambda_xray (each asset looked at once)."""
        if asset not in self._our_assets:
            self._our_assets[asset] = asset_contains(asset, _OUR_LAYER_FILES)
        return self._our_assets[asset]

    def _asset_of(self, res: Mapping[str, Any], content: Any) -> Path | None:
        meta = _mapping(res.get("Metadata")).get("aws:asset:path")
        if isinstance(meta, str):
            return self.assembly.asset_path(meta, "layer aws:asset:path")
        key = _mapping(content).get("S3Key")
        return self.assembly.asset_for_key(key) if isinstance(key, str) else None

    def _functions(self) -> None:
        for rid, res in self._of_type("AWS::Lambda::Function"):
            fn = self._function(rid, res)
            self.model.functions[rid] = fn
            if fn.name:
                self.functions_by_name[fn.name] = rid

    def _function(self, rid: ResourceId, res: Mapping[str, Any]) -> Function:
        props = _props(res)
        env_vars = _mapping(_mapping(props.get("Environment")).get("Variables"))
        environment = {str(k): self._resolve(rid, v) for k, v in env_vars.items()}
        role_value = self._resolve(rid, props.get("Role"))
        role = self._role_of(role_value)
        role_text = None
        if role is None:
            role_text = role_value.text()
            self._note_unknowns(rid, "Role", role_value)
        tracing = _mapping(props.get("TracingConfig")).get("Mode")
        description = self._resolve(rid, props.get("Description")).text() or None
        path = self.model.path_of(rid)
        fn = Function(
            id=rid,
            path=path,
            name=self._resolve(rid, props.get("FunctionName")).literal or None,
            runtime=_str_or_none(props.get("Runtime")),
            architectures=tuple(str(a) for a in _list(props.get("Architectures"))) or ("x86_64",),
            handler=_str_or_none(props.get("Handler")),
            package_type=str(props.get("PackageType") or "Zip"),
            tracing_mode=_str_or_none(tracing),
            environment=environment,
            layers=[self._layer(rid, ref) for ref in _list(props.get("Layers"))],
            role=role,
            role_text=role_text,
            description=description,
        )
        template = self.templates[rid.stack]
        fn.internal = _internal_kind(template, rid.logical_id, path, description)
        fn.tracers = detect(fn)
        if fn.is_python and not any(is_xray_sdk(t) for t in fn.tracers):
            sdk = xray_sdk_tracer(fn, self._xray_sdk_code(res, props.get("Code")))
            if sdk is not None:
                fn.tracers.append(sdk)
        full = template.paths.get(rid.logical_id)
        if full:
            fn.annotations = template.annotations_for(full)
        return fn

    def _xray_sdk_code(self, res: Mapping[str, Any], code: Any) -> str | None:
        """Evidence that the function's own code (inline or its asset) uses aws_xray_sdk."""
        inline = _mapping(code).get("ZipFile")
        if isinstance(inline, str):
            return f"inline code imports {XRAY_SDK_MODULE}" if xray_sdk_in_code(inline) else None
        asset = self._asset_of(res, code)
        return xray_sdk_in_tree(asset) if asset is not None else None

    def _layer(self, fn: ResourceId, ref: Any) -> Layer:
        value = self._resolve(fn, ref)
        target = value.only_target()
        if target is not None and target.resource in self.layers:
            return self.layers[target.resource]
        text = value.concrete
        if text:
            name = text.split(":layer:", 1)[-1]
            return Layer(label=name, arn=text, tracer=layer_tracer_from_arn(text))
        self._note_unknowns(fn, "Layers", value)
        return Layer(label=value.text(), arn=None, evidence="unresolved")

    def _function_of(self, rid: ResourceId, prop: str, expr: Any) -> ResourceId | None:
        """The function a property points to (Ref/GetAtt, alias, version, name or ARN)."""
        return self._function_from_value(rid, prop, self._resolve(rid, expr), 0)

    def _function_from_value(
        self, rid: ResourceId, prop: str, value: Value, depth: int
    ) -> ResourceId | None:
        for target in value.targets:
            rtype = self.model.types.get(target.resource)
            if rtype == "AWS::Lambda::Function":
                return target.resource
            if rtype in {"AWS::Lambda::Alias", "AWS::Lambda::Version"} and depth < 4:
                res = self.templates[target.resource.stack].resources[target.resource.logical_id]
                inner = self._resolve(target.resource, _props(res).get("FunctionName"))
                return self._function_from_value(target.resource, "FunctionName", inner, depth + 1)
        text = value.concrete
        if text:
            match = _LAMBDA_ARN.match(text)
            name = match.group(1) if match else text.split(":", 1)[0]
            return self.functions_by_name.get(name)
        self._note_unknowns(rid, prop, value)
        return None

    # -- upstream resources ---------------------------------------------------
    def _topics(self) -> None:
        for rid, res in self._of_type("AWS::SNS::Topic"):
            tracing = _str_or_none(_props(res).get("TracingConfig"))
            self.model.topics[rid] = Topic(id=rid, path=self.model.path_of(rid), tracing=tracing)

    def _stages(self) -> None:
        for rid, res in self._of_type("AWS::ApiGateway::Stage"):
            props = _props(res)
            api = self._resolve(rid, props.get("RestApiId")).only_target()
            self.model.stages.append(
                ApiStage(
                    id=rid,
                    path=self.model.path_of(rid),
                    api=api.resource if api else None,
                    stage_name=_str_or_none(props.get("StageName")),
                    tracing_enabled=_truthy(props.get("TracingEnabled")),
                )
            )
        for rid, res in self._of_type("AWS::ApiGateway::Deployment"):
            props = _props(res)
            if not props.get("StageName"):
                continue
            api = self._resolve(rid, props.get("RestApiId")).only_target()
            self.model.stages.append(
                ApiStage(
                    id=rid,
                    path=self.model.path_of(rid),
                    api=api.resource if api else None,
                    stage_name=_str_or_none(props.get("StageName")),
                    tracing_enabled=_truthy(
                        _mapping(props.get("StageDescription")).get("TracingEnabled")
                    ),
                )
            )

    def _state_machines(self) -> None:
        for rid, res in self._of_type("AWS::StepFunctions::StateMachine"):
            props = _props(res)
            functions: list[ResourceId] = []
            exprs = [props.get("DefinitionString"), props.get("Definition")]
            exprs += list(_mapping(props.get("DefinitionSubstitutions")).values())
            for expr in exprs:
                for sub in _walk_values(expr):
                    for target in self._resolve(rid, sub).targets:
                        fn = self._function_from_value(rid, "Definition", Value((target,)), 0)
                        if fn is not None and fn not in functions:
                            functions.append(fn)
            self.model.state_machines[rid] = StateMachine(
                id=rid,
                path=self.model.path_of(rid),
                tracing_enabled=_truthy(_mapping(props.get("TracingConfiguration")).get("Enabled")),
                functions=tuple(functions),
                role=self._role_of(self._resolve(rid, props.get("RoleArn"))),
            )

    def _xray_policies(self) -> None:
        for rid, res in self._of_type("AWS::XRay::ResourcePolicy"):
            value = self._resolve(rid, _props(res).get("PolicyDocument"))
            self.model.xray_policies.append(_parse_xray_policy(rid, self.model.path_of(rid), value))

    # -- event sources ----------------------------------------------------------
    def _event_sources(self) -> None:
        self._event_source_mappings()
        self._s3_notifications()
        self._sns_subscriptions()
        self._rest_apis()
        self._http_apis()
        for sm in self.model.state_machines.values():
            for member in sm.functions:
                hop = HopStatus.TRACED if sm.tracing_enabled else HopStatus.UNTRACED
                detail = "state machine tracing " + ("enabled" if sm.tracing_enabled else "off")
                self._edge("stepfunctions", sm.id, member, sm.id, hop=(hop, detail))
        for rid, res in self._of_type("AWS::Events::Rule"):
            for target in _list(_props(res).get("Targets")):
                fn = self._function_of(rid, "Targets", _mapping(target).get("Arn"))
                if fn is not None:
                    self._edge("eventbridge", rid, fn, rid)
        for rid, res in self._of_type("AWS::Scheduler::Schedule"):
            fn = self._function_of(rid, "Target", _mapping(_props(res).get("Target")).get("Arn"))
            if fn is not None:
                self._edge("scheduler", rid, fn, rid)
        for rid, res in self._of_type("AWS::ElasticLoadBalancingV2::TargetGroup"):
            for target in _list(_props(res).get("Targets")):
                fn = self._function_of(rid, "Targets", _mapping(target).get("Id"))
                if fn is not None:
                    self._edge("alb", rid, fn, rid)
        self._permissions()

    def _edge(
        self,
        kind: str,
        source: ResourceId | None,
        function: ResourceId,
        via: ResourceId | None,
        *,
        label: str | None = None,
        hop: tuple[HopStatus, str] | None = None,
    ) -> None:
        key: tuple[object, ...] = (source, function) if source else (kind, label, function)
        if key in self._edge_keys:
            return
        self._edge_keys.add(key)
        if hop is None:
            hop = self._hop(kind, source)
        self.model.event_sources.append(
            EventSource(
                kind=kind,
                label=label or self.model.path_of(source),
                function=function,
                source=source,
                via=via,
                hop=hop[0],
                detail=hop[1],
            )
        )

    def _hop(self, kind: str, source: ResourceId | None) -> tuple[HopStatus, str]:
        if kind in _FIXED_HOPS:
            return _FIXED_HOPS[kind]
        if kind == "sns":
            topic = self.model.topics.get(source) if source else None
            if topic is None:
                return HopStatus.UNKNOWN, "topic is not in this assembly"
            if topic.tracing == "Active":
                return HopStatus.TRACED, "topic tracing Active"
            return HopStatus.UNTRACED, f"topic tracing {topic.tracing or 'PassThrough (default)'}"
        if kind == "apigateway":
            stages = [s for s in self.model.stages if source is not None and s.api == source]
            if not stages:
                return HopStatus.UNKNOWN, "no stage of this API in the assembly"
            off = [s.stage_name or s.path for s in stages if not s.tracing_enabled]
            if off:
                return HopStatus.UNTRACED, "stage tracing off: " + ", ".join(off)
            names = ", ".join(s.stage_name or s.path for s in stages)
            return HopStatus.TRACED, f"stage tracing enabled: {names}"
        if kind == "stepfunctions":
            sm = self.model.state_machines.get(source) if source else None
            if sm is not None:
                on = sm.tracing_enabled
                return (HopStatus.TRACED if on else HopStatus.UNTRACED), (
                    "state machine tracing " + ("enabled" if on else "off")
                )
        return HopStatus.UNKNOWN, f"whether {kind} passes the trace context is not known"

    def _event_source_mappings(self) -> None:
        for rid, res in self._of_type("AWS::Lambda::EventSourceMapping"):
            props = _props(res)
            fn = self._function_of(rid, "FunctionName", props.get("FunctionName"))
            if fn is None:
                continue
            value = self._resolve(rid, props.get("EventSourceArn"))
            target = value.targets[0] if value.targets else None
            if target is not None:
                kind = _TYPE_KIND.get(self.model.types.get(target.resource, ""), "unknown")
                self._edge(kind, target.resource, fn, rid)
                continue
            text = value.literal
            if text:
                service = text.split(":")[2] if text.count(":") >= 5 else ""
                kind = _ARN_SERVICE_KIND.get(service, service or "unknown")
                if kind in {"kafka", "mq"}:
                    detail = "records carry no trace context; the trace starts at the function"
                    self._edge(
                        kind, None, fn, rid, label=text, hop=(HopStatus.NOT_SUPPORTED, detail)
                    )
                else:
                    self._edge(kind, None, fn, rid, label=text)
            elif "SelfManagedEventSource" in props:
                detail = "self-managed Kafka records carry no trace context"
                self._edge(
                    "kafka",
                    None,
                    fn,
                    rid,
                    label="self-managed Kafka",
                    hop=(HopStatus.NOT_SUPPORTED, detail),
                )
            else:
                self._note_unknowns(rid, "EventSourceArn", value)

    def _s3_notifications(self) -> None:
        for rid, res in self._of_type("Custom::S3BucketNotifications"):
            props = _props(res)
            bucket = self._resolve(rid, props.get("BucketName")).only_target()
            config = _mapping(props.get("NotificationConfiguration"))
            for entry in _list(config.get("LambdaFunctionConfigurations")):
                fn = self._function_of(
                    rid, "LambdaFunctionArn", _mapping(entry).get("LambdaFunctionArn")
                )
                if fn is not None:
                    self._edge(
                        "s3",
                        bucket.resource if bucket else None,
                        fn,
                        rid,
                        label=None if bucket else "S3 bucket (outside this app)",
                    )
        for rid, res in self._of_type("AWS::S3::Bucket"):
            config = _mapping(_props(res).get("NotificationConfiguration"))
            for entry in _list(config.get("LambdaConfigurations")):
                fn = self._function_of(rid, "LambdaConfigurations", _mapping(entry).get("Function"))
                if fn is not None:
                    self._edge("s3", rid, fn, rid)

    def _sns_subscriptions(self) -> None:
        for rid, res in self._of_type("AWS::SNS::Subscription"):
            props = _props(res)
            if str(props.get("Protocol", "")).lower() != "lambda":
                continue
            fn = self._function_of(rid, "Endpoint", props.get("Endpoint"))
            if fn is None:
                continue
            topic_value = self._resolve(rid, props.get("TopicArn"))
            topic = topic_value.only_target()
            if topic is None:
                self._note_unknowns(rid, "TopicArn", topic_value)
            self._edge(
                "sns",
                topic.resource if topic else None,
                fn,
                rid,
                label=None if topic else topic_value.text(),
            )
        for rid, res in self._of_type("AWS::SNS::Topic"):
            for sub in _list(_props(res).get("Subscription")):
                if str(_mapping(sub).get("Protocol", "")).lower() == "lambda":
                    fn = self._function_of(rid, "Subscription", _mapping(sub).get("Endpoint"))
                    if fn is not None:
                        self._edge("sns", rid, fn, rid)

    def _rest_apis(self) -> None:
        for rid, res in self._of_type("AWS::ApiGateway::Method"):
            props = _props(res)
            integration = _mapping(props.get("Integration"))
            if str(integration.get("Type", "")).upper() not in {"AWS", "AWS_PROXY"}:
                continue
            fn = self._lambda_in_uri(rid, integration.get("Uri"))
            api = self._resolve(rid, props.get("RestApiId")).only_target()
            if fn is not None:
                self._edge(
                    "apigateway",
                    api.resource if api else None,
                    fn,
                    rid,
                    label=None if api else "REST API (outside this app)",
                )
        for rid, res in self._of_type("AWS::ApiGateway::RestApi"):
            for uri in _integration_uris(_props(res).get("Body")):
                fn = self._lambda_in_uri(rid, uri)
                if fn is not None:
                    self._edge("apigateway", rid, fn, rid)

    def _http_apis(self) -> None:
        for rid, res in self._of_type("AWS::ApiGatewayV2::Integration"):
            props = _props(res)
            fn = self._lambda_in_uri(rid, props.get("IntegrationUri"))
            api = self._resolve(rid, props.get("ApiId")).only_target()
            if fn is not None:
                self._edge(
                    "apigateway-v2",
                    api.resource if api else None,
                    fn,
                    rid,
                    label=None if api else "HTTP API (outside this app)",
                )

    def _lambda_in_uri(self, rid: ResourceId, expr: Any) -> ResourceId | None:
        value = self._resolve(rid, expr)
        for target in value.targets:
            fn = self._function_from_value(rid, "Uri", Value((target,)), 0)
            if fn is not None:
                return fn
        text = value.literal or ""
        match = re.search(r"functions/(arn:[^/]+)/invocations", text)
        if match:
            return self._function_from_value(rid, "Uri", Value((match.group(1),)), 0)
        return None

    def _permissions(self) -> None:
        for rid, res in self._of_type("AWS::Lambda::Permission"):
            props = _props(res)
            principal = self._resolve(rid, props.get("Principal")).literal or ""
            kind = _PRINCIPAL_KIND.get(principal)
            if kind is None and not principal.endswith(".amazonaws.com"):
                continue  # an account or role: a direct caller, not an event source
            fn = self._function_of(rid, "FunctionName", props.get("FunctionName"))
            if fn is None:
                continue
            source_value = self._resolve(rid, props.get("SourceArn"))
            source = next(
                (t.resource for t in source_value.targets if not _is_function(self.model, t)), None
            )
            if source is not None:
                kind = _TYPE_KIND.get(self.model.types.get(source, ""), kind)
            kind = kind or principal.split(".", 1)[0]
            label = None if source else f"{principal} ({source_value.text() or 'any source'})"
            self._edge(kind, source, fn, rid, label=label)

    # -- downstream -------------------------------------------------------------
    def _downstream(self) -> None:
        for fn in self.model.functions.values():
            if fn.role is None:
                continue
            seen: dict[tuple[str, ResourceId | None], Downstream] = {}
            for st in fn.role.statements:
                if st.effect != "Allow" or not st.actions:
                    continue
                services = {a.split(":", 1)[0].lower() for a in st.actions if ":" in a}
                services -= _NOT_DOWNSTREAM
                if not services:
                    continue
                calls = tuple(a for a in st.actions if a.split(":", 1)[0].lower() in services)
                if all(a.lower() in _POLLER_ACTIONS for a in calls):
                    continue  # Lambda's event-source poller, not the function's code
                service = sorted(services)[0]
                for resource in st.resources:
                    targets = [t.resource for t in resource.targets]
                    if targets and all(t == fn.id for t in targets):
                        continue
                    keys: list[ResourceId | None] = list(dict.fromkeys(targets)) or [None]
                    for target in keys:
                        entry = seen.get((service, target))
                        if entry is None:
                            label = (
                                self.model.path_of(target)
                                if target is not None
                                else f"{service} ({resource.text() or '*'})"
                            )
                            entry = Downstream(fn.id, service, label, target, ())
                            seen[(service, target)] = entry
                        entry.actions = tuple(dict.fromkeys(entry.actions + calls))
            self.model.downstream.extend(seen.values())


# -- helpers -------------------------------------------------------------------


def _props(res: Mapping[str, Any]) -> dict[str, Any]:
    props = res.get("Properties")
    return props if isinstance(props, dict) else {}


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _truthy(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


def _display_path(template: Template, logical_id: str) -> str:
    path = template.paths.get(logical_id)
    if path is None:
        return f"{template.display_name}/{logical_id}"
    return path.removesuffix("/Resource")


def _is_function(model: Model, target: Target) -> bool:
    return model.types.get(target.resource) == "AWS::Lambda::Function"


def _internal_kind(
    template: Template, logical_id: str, path: str, description: str | None
) -> str | None:
    haystack = f"{path}\n{logical_id}\n{description or ''}"
    for kind, marker in _INTERNAL_MARKERS:
        if marker in haystack:
            return kind
    full = template.paths.get(logical_id, "")
    if any(full.startswith(marker + "/") for marker in template.handler_markers):
        return "custom resource handler"
    return None


def _xray_sdk_layer(asset: Path | None, name: str | None, description: str | None) -> str | None:
    """Evidence that a layer version of the assembly is the AWS X-Ray SDK."""
    for label, text in (("name", name), ("description", description)):
        if text and layer_tracer(text) is XRAY_SDK:
            return f"{label} {text!r}"
    found = xray_sdk_in_tree(asset) if asset is not None else None
    return f"asset: {found}" if found else None


def _walk_values(expr: Any) -> Iterator[Any]:
    """Yield the intrinsic-bearing leaves of a JSON-ish structure (for definitions)."""
    if isinstance(expr, dict):
        if len(expr) == 1 and next(iter(expr)).startswith(("Fn::", "Ref")):
            yield expr
            return
        for item in expr.values():
            yield from _walk_values(item)
    elif isinstance(expr, list):
        for item in expr:
            yield from _walk_values(item)


def _integration_uris(body: Any) -> Iterator[Any]:
    if isinstance(body, dict):
        for key, item in body.items():
            if key == "x-amazon-apigateway-integration" and isinstance(item, dict):
                if "uri" in item:
                    yield item["uri"]
            else:
                yield from _integration_uris(item)
    elif isinstance(body, list):
        for item in body:
            yield from _integration_uris(item)


def _parse_xray_policy(rid: ResourceId, path: str, value: Value) -> XRayPolicy:
    """Read an X-Ray resource policy document whose text may embed references."""
    placeholders: dict[str, Value] = {}
    chunks: list[str] = []
    for index, part in enumerate(value.parts):
        if isinstance(part, str):
            chunks.append(part)
        else:
            token = f"@@ref{index}@@"
            placeholders[token] = Value((part,))
            chunks.append(token)
    try:  # the assembly's JSON limits (numbers, depth) apply to the embedded document too
        document = parse_json_text("".join(chunks), "the policy document")
    except AssemblyError as exc:
        return XRayPolicy(rid, path, frozenset(), None, parse_error=f"not JSON: {exc}")
    services: set[str] = set()
    topics: set[ResourceId] = set()
    unrestricted = False
    for st in _list(_mapping(document).get("Statement")):
        st = _mapping(st)
        if st.get("Effect") != "Allow":
            continue
        actions = [str(a) for a in _list(st.get("Action"))]
        if not any(fnmatchcase("xray:puttracesegments", a.lower()) for a in actions):
            continue
        principal = st.get("Principal")
        granted = {str(s) for s in _list(_mapping(principal).get("Service"))}
        services |= granted
        arns = _source_arns(_mapping(st.get("Condition")))
        if arns is None:
            unrestricted = True
            continue
        for arn in arns:
            refs = [placeholders[t] for t in re.findall(r"@@ref\d+@@", arn) if t in placeholders]
            found = [t.resource for v in refs for t in v.targets]
            if not found:
                unrestricted = True  # a literal pattern: not tied to topics in this app
            topics.update(found)
    return XRayPolicy(rid, path, frozenset(services), None if unrestricted else frozenset(topics))


def _source_arns(condition: Mapping[str, Any]) -> list[str] | None:
    found: list[str] | None = None
    for clauses in condition.values():
        for key, values in _mapping(clauses).items():
            if key.lower() == "aws:sourcearn":
                found = (found or []) + [str(v) for v in _list(values)]
    return found
