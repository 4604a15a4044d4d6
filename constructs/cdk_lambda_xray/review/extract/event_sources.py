"""Event sources: one small extractor per CloudFormation type that can invoke a function.

:data:`EXTRACTORS` maps a resource type to the function that reads one resource
of that type and records its edges (``source -> function``) through
:meth:`.context.Extraction.edge`, which judges each hop once. The table's order
is the order edges are found in, and the first way an edge is found wins
(a subscription before the ``AWS::Lambda::Permission`` that allows it), so
reports list sources the same way on every run. Supporting a new source is one
function and one row.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Final

from ..aws_facts import (
    ARN_SERVICE_KIND,
    PRINCIPAL_KIND,
    RECORDS_WITHOUT_CONTEXT,
    SELF_MANAGED_KAFKA,
    TYPE_KIND,
)
from ..hops import Hop
from ..resolve import ResourceId
from .context import Extraction, as_list, mapping, props

__all__ = ["EXTRACTORS", "Extractor", "extract_event_sources"]

#: reads one resource (id, template body) and records the edges it makes
Extractor = Callable[[Extraction, ResourceId, dict[str, Any]], None]


def _event_source_mapping(ctx: Extraction, rid: ResourceId, res: dict[str, Any]) -> None:
    """SQS queues, DynamoDB and Kinesis streams, Kafka and MQ polled by Lambda."""
    p = props(res)
    fn = ctx.function_of(rid, "FunctionName", p.get("FunctionName"))
    if fn is None:
        return
    value = ctx.resolve(rid, p.get("EventSourceArn"))
    target = value.targets[0] if value.targets else None
    if target is not None:
        kind = TYPE_KIND.get(ctx.model.types.get(target.resource, ""), "unknown")
        ctx.edge(kind, target.resource, fn, rid)
        return
    text = value.literal
    if text:
        service = text.split(":")[2] if text.count(":") >= 5 else ""
        kind = ARN_SERVICE_KIND.get(service, service or "unknown")
        fixed = RECORDS_WITHOUT_CONTEXT.get(kind)
        ctx.edge(kind, None, fn, rid, label=text, hop=Hop(*fixed) if fixed else None)
    elif "SelfManagedEventSource" in p:
        label, hop = SELF_MANAGED_KAFKA
        ctx.edge("kafka", None, fn, rid, label=label, hop=Hop(*hop))
    else:
        ctx.note_unknowns(rid, "EventSourceArn", value)


def _bucket_notifications_resource(ctx: Extraction, rid: ResourceId, res: dict[str, Any]) -> None:
    """CDK's ``Custom::S3BucketNotifications`` (what ``bucket.add_event_notification`` makes)."""
    p = props(res)
    bucket = ctx.resolve(rid, p.get("BucketName")).only_target()
    config = mapping(p.get("NotificationConfiguration"))
    for entry in as_list(config.get("LambdaFunctionConfigurations")):
        fn = ctx.function_of(rid, "LambdaFunctionArn", mapping(entry).get("LambdaFunctionArn"))
        if fn is not None:
            label = None if bucket else "S3 bucket (outside this app)"
            ctx.edge("s3", bucket.resource if bucket else None, fn, rid, label=label)


def _bucket(ctx: Extraction, rid: ResourceId, res: dict[str, Any]) -> None:
    """A bucket's own ``NotificationConfiguration``."""
    config = mapping(props(res).get("NotificationConfiguration"))
    for entry in as_list(config.get("LambdaConfigurations")):
        fn = ctx.function_of(rid, "LambdaConfigurations", mapping(entry).get("Function"))
        if fn is not None:
            ctx.edge("s3", rid, fn, rid)


def _sns_subscription(ctx: Extraction, rid: ResourceId, res: dict[str, Any]) -> None:
    p = props(res)
    if str(p.get("Protocol", "")).lower() != "lambda":
        return
    fn = ctx.function_of(rid, "Endpoint", p.get("Endpoint"))
    if fn is None:
        return
    topic_value = ctx.resolve(rid, p.get("TopicArn"))
    topic = topic_value.only_target()
    if topic is None:
        ctx.note_unknowns(rid, "TopicArn", topic_value)
    label = None if topic else topic_value.text()
    ctx.edge("sns", topic.resource if topic else None, fn, rid, label=label)


def _topic(ctx: Extraction, rid: ResourceId, res: dict[str, Any]) -> None:
    """A topic's inline ``Subscription`` list."""
    for sub in as_list(props(res).get("Subscription")):
        if str(mapping(sub).get("Protocol", "")).lower() == "lambda":
            fn = ctx.function_of(rid, "Subscription", mapping(sub).get("Endpoint"))
            if fn is not None:
                ctx.edge("sns", rid, fn, rid)


def _rest_method(ctx: Extraction, rid: ResourceId, res: dict[str, Any]) -> None:
    p = props(res)
    integration = mapping(p.get("Integration"))
    if str(integration.get("Type", "")).upper() not in {"AWS", "AWS_PROXY"}:
        return
    fn = ctx.lambda_in_uri(rid, integration.get("Uri"))
    api = ctx.resolve(rid, p.get("RestApiId")).only_target()
    if fn is not None:
        label = None if api else "REST API (outside this app)"
        ctx.edge("apigateway", api.resource if api else None, fn, rid, label=label)


def _rest_api_body(ctx: Extraction, rid: ResourceId, res: dict[str, Any]) -> None:
    """A REST API defined by an OpenAPI ``Body`` with ``x-amazon-apigateway-integration``."""
    for uri in _integration_uris(props(res).get("Body")):
        fn = ctx.lambda_in_uri(rid, uri)
        if fn is not None:
            ctx.edge("apigateway", rid, fn, rid)


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


def _http_integration(ctx: Extraction, rid: ResourceId, res: dict[str, Any]) -> None:
    """HTTP and WebSocket APIs (API Gateway v2)."""
    p = props(res)
    fn = ctx.lambda_in_uri(rid, p.get("IntegrationUri"))
    api = ctx.resolve(rid, p.get("ApiId")).only_target()
    if fn is not None:
        label = None if api else "HTTP API (outside this app)"
        ctx.edge("apigateway-v2", api.resource if api else None, fn, rid, label=label)


def _state_machine(ctx: Extraction, rid: ResourceId, res: dict[str, Any]) -> None:
    """The functions a state machine's definition invokes (read with the upstream resources)."""
    sm = ctx.model.state_machines[rid]
    for member in sm.functions:
        ctx.edge("stepfunctions", sm.id, member, sm.id)


def _rule(ctx: Extraction, rid: ResourceId, res: dict[str, Any]) -> None:
    """An EventBridge rule's targets."""
    for target in as_list(props(res).get("Targets")):
        fn = ctx.function_of(rid, "Targets", mapping(target).get("Arn"))
        if fn is not None:
            ctx.edge("eventbridge", rid, fn, rid)


def _schedule(ctx: Extraction, rid: ResourceId, res: dict[str, Any]) -> None:
    """An EventBridge Scheduler schedule."""
    fn = ctx.function_of(rid, "Target", mapping(props(res).get("Target")).get("Arn"))
    if fn is not None:
        ctx.edge("scheduler", rid, fn, rid)


def _target_group(ctx: Extraction, rid: ResourceId, res: dict[str, Any]) -> None:
    """An Application Load Balancer target group of functions."""
    for target in as_list(props(res).get("Targets")):
        fn = ctx.function_of(rid, "Targets", mapping(target).get("Id"))
        if fn is not None:
            ctx.edge("alb", rid, fn, rid)


def _permission(ctx: Extraction, rid: ResourceId, res: dict[str, Any]) -> None:
    """A service allowed to invoke a function: the source for anything not found above."""
    p = props(res)
    principal = ctx.resolve(rid, p.get("Principal")).literal or ""
    kind = PRINCIPAL_KIND.get(principal)
    if kind is None and not principal.endswith(".amazonaws.com"):
        return  # an account or role: a direct caller, not an event source
    fn = ctx.function_of(rid, "FunctionName", p.get("FunctionName"))
    if fn is None:
        return
    source_value = ctx.resolve(rid, p.get("SourceArn"))
    source = next((t.resource for t in source_value.targets if not ctx.is_function(t)), None)
    if source is not None:
        kind = TYPE_KIND.get(ctx.model.types.get(source, ""), kind)
    kind = kind or principal.split(".", 1)[0]
    label = None if source else f"{principal} ({source_value.text() or 'any source'})"
    ctx.edge(kind, source, fn, rid, label=label)


#: CloudFormation type -> its extractor, in the order edges are looked for
EXTRACTORS: Final[dict[str, Extractor]] = {
    "AWS::Lambda::EventSourceMapping": _event_source_mapping,
    "Custom::S3BucketNotifications": _bucket_notifications_resource,
    "AWS::S3::Bucket": _bucket,
    "AWS::SNS::Subscription": _sns_subscription,
    "AWS::SNS::Topic": _topic,
    "AWS::ApiGateway::Method": _rest_method,
    "AWS::ApiGateway::RestApi": _rest_api_body,
    "AWS::ApiGatewayV2::Integration": _http_integration,
    "AWS::StepFunctions::StateMachine": _state_machine,
    "AWS::Events::Rule": _rule,
    "AWS::Scheduler::Schedule": _schedule,
    "AWS::ElasticLoadBalancingV2::TargetGroup": _target_group,
    "AWS::Lambda::Permission": _permission,
}


def extract_event_sources(ctx: Extraction) -> None:
    """Run every extractor over the resources of its type."""
    for rtype, extractor in EXTRACTORS.items():
        for rid, res in ctx.of_type(rtype):
            extractor(ctx, rid, res)
