"""Every kind of event source the review reads, and the hop it shows (hand-written templates).

One case per extractor of ``extract/event_sources.EXTRACTORS`` (a guard test
makes sure a new extractor brings its case), read back from the JSON report's
per-function ``event_sources``: what a user sees in the "Event sources (hop)"
column. The hop is judged once: the rules on upstream resources fire exactly
where the table shows a hop as not traced.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from cdk_lambda_xray.review import report_json
from cdk_lambda_xray.review.extract.event_sources import EXTRACTORS
from cdk_lambda_xray.review.review import review_path

WriteAssembly = Callable[..., Path]

FN_ARN = {"Fn::GetAtt": ["Fn", "Arn"]}
ROLE = {
    "Type": "AWS::IAM::Role",
    "Properties": {
        "Policies": [
            {
                "PolicyName": "xray",
                "PolicyDocument": {
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
                            "Resource": "*",
                        }
                    ]
                },
            }
        ]
    },
}
FN = {
    "Type": "AWS::Lambda::Function",
    "Properties": {
        "Runtime": "nodejs22.x",
        "Handler": "index.handler",
        "Code": {"ZipFile": "x"},
        "Role": {"Fn::GetAtt": ["Role", "Arn"]},
        "TracingConfig": {"Mode": "Active"},
    },
}


def _res(rtype: str, **props: Any) -> dict[str, Any]:
    return {"Type": rtype, "Properties": props}


def _mapping(arn: Any = None, **props: Any) -> dict[str, Any]:
    if arn is not None:
        props["EventSourceArn"] = arn
    return _res("AWS::Lambda::EventSourceMapping", FunctionName={"Ref": "Fn"}, **props)


def _invocation_uri() -> dict[str, Any]:
    return {
        "Fn::Join": [
            "",
            [
                "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/",
                FN_ARN,
                "/invocations",
            ],
        ]
    }


def _definition() -> dict[str, Any]:
    return {"Fn::Join": ["", ['{"StartAt":"A","States":{"A":{"Resource":"', FN_ARN, '"}}}']]}


#: (CloudFormation type of the extractor, resources) -> (kind, source label, hop)
CASES: dict[str, tuple[str, dict[str, Any], tuple[str, str, str]]] = {
    "sqs-mapping": (
        "AWS::Lambda::EventSourceMapping",
        {"Queue": _res("AWS::SQS::Queue"), "M": _mapping({"Fn::GetAtt": ["Queue", "Arn"]})},
        ("sqs", "S/Queue", "propagated"),
    ),
    "dynamodb-stream-mapping": (
        "AWS::Lambda::EventSourceMapping",
        {
            "Table": _res("AWS::DynamoDB::Table"),
            "M": _mapping({"Fn::GetAtt": ["Table", "StreamArn"]}),
        },
        ("dynamodb-stream", "S/Table", "not supported"),
    ),
    "kinesis-mapping-by-arn": (
        "AWS::Lambda::EventSourceMapping",
        {"M": _mapping("arn:aws:kinesis:us-east-1:123456789012:stream/clicks")},
        ("kinesis", "arn:aws:kinesis:us-east-1:123456789012:stream/clicks", "not supported"),
    ),
    "msk-mapping": (
        "AWS::Lambda::EventSourceMapping",
        {"M": _mapping("arn:aws:kafka:us-east-1:123456789012:cluster/c/1234")},
        ("kafka", "arn:aws:kafka:us-east-1:123456789012:cluster/c/1234", "not supported"),
    ),
    "self-managed-kafka-mapping": (
        "AWS::Lambda::EventSourceMapping",
        {
            "M": _mapping(
                SelfManagedEventSource={"Endpoints": {"KafkaBootstrapServers": ["b:9092"]}}
            )
        },
        ("kafka", "self-managed Kafka", "not supported"),
    ),
    "cdk-bucket-notifications": (
        "Custom::S3BucketNotifications",
        {
            "Bucket": _res("AWS::S3::Bucket"),
            "N": _res(
                "Custom::S3BucketNotifications",
                BucketName={"Ref": "Bucket"},
                NotificationConfiguration={
                    "LambdaFunctionConfigurations": [{"LambdaFunctionArn": FN_ARN}]
                },
            ),
        },
        ("s3", "S/Bucket", "propagated"),
    ),
    "bucket-notification-configuration": (
        "AWS::S3::Bucket",
        {
            "Bucket": _res(
                "AWS::S3::Bucket",
                NotificationConfiguration={"LambdaConfigurations": [{"Function": FN_ARN}]},
            )
        },
        ("s3", "S/Bucket", "propagated"),
    ),
    "sns-subscription-active-topic": (
        "AWS::SNS::Subscription",
        {
            "Topic": _res("AWS::SNS::Topic", TracingConfig="Active"),
            "Sub": _res(
                "AWS::SNS::Subscription",
                Protocol="lambda",
                Endpoint=FN_ARN,
                TopicArn={"Ref": "Topic"},
            ),
        },
        ("sns", "S/Topic", "traced"),
    ),
    "sns-inline-subscription-passthrough": (
        "AWS::SNS::Topic",
        {
            "Topic": _res(
                "AWS::SNS::Topic", Subscription=[{"Protocol": "lambda", "Endpoint": FN_ARN}]
            )
        },
        ("sns", "S/Topic", "untraced"),
    ),
    "rest-api-method-traced-stage": (
        "AWS::ApiGateway::Method",
        {
            "Api": _res("AWS::ApiGateway::RestApi", Name="api"),
            "Method": _res(
                "AWS::ApiGateway::Method",
                RestApiId={"Ref": "Api"},
                Integration={"Type": "AWS_PROXY", "Uri": _invocation_uri()},
            ),
            "Stage": _res(
                "AWS::ApiGateway::Stage",
                RestApiId={"Ref": "Api"},
                StageName="prod",
                TracingEnabled=True,
            ),
        },
        ("apigateway", "S/Api", "traced"),
    ),
    "rest-api-body-untraced-stage": (
        "AWS::ApiGateway::RestApi",
        {
            "Api": _res(
                "AWS::ApiGateway::RestApi",
                Body={
                    "paths": {
                        "/": {
                            "get": {"x-amazon-apigateway-integration": {"uri": _invocation_uri()}}
                        }
                    }
                },
            ),
            "Stage": _res("AWS::ApiGateway::Stage", RestApiId={"Ref": "Api"}, StageName="dev"),
        },
        ("apigateway", "S/Api", "untraced"),
    ),
    "http-api": (
        "AWS::ApiGatewayV2::Integration",
        {
            "Api": _res("AWS::ApiGatewayV2::Api", ProtocolType="HTTP"),
            "I": _res(
                "AWS::ApiGatewayV2::Integration",
                ApiId={"Ref": "Api"},
                IntegrationType="AWS_PROXY",
                IntegrationUri=FN_ARN,
            ),
        },
        ("apigateway-v2", "S/Api", "not supported"),
    ),
    "state-machine-untraced": (
        "AWS::StepFunctions::StateMachine",
        {"Sm": _res("AWS::StepFunctions::StateMachine", DefinitionString=_definition())},
        ("stepfunctions", "S/Sm", "untraced"),
    ),
    "eventbridge-rule": (
        "AWS::Events::Rule",
        {"Rule": _res("AWS::Events::Rule", Targets=[{"Arn": FN_ARN, "Id": "t"}])},
        ("eventbridge", "S/Rule", "propagated"),
    ),
    "scheduler": (
        "AWS::Scheduler::Schedule",
        {"Schedule": _res("AWS::Scheduler::Schedule", Target={"Arn": FN_ARN})},
        ("scheduler", "S/Schedule", "not supported"),
    ),
    "alb-target-group": (
        "AWS::ElasticLoadBalancingV2::TargetGroup",
        {"Tg": _res("AWS::ElasticLoadBalancingV2::TargetGroup", Targets=[{"Id": FN_ARN}])},
        ("alb", "S/Tg", "propagated"),
    ),
    "permission-for-a-bucket-outside-the-app": (
        "AWS::Lambda::Permission",
        {
            "P": _res(
                "AWS::Lambda::Permission",
                Action="lambda:InvokeFunction",
                FunctionName={"Ref": "Fn"},
                Principal="s3.amazonaws.com",
                SourceArn="arn:aws:s3:::uploads",
            )
        },
        ("s3", "s3.amazonaws.com (arn:aws:s3:::uploads)", "propagated"),
    ),
}


def _sources(write_assembly: WriteAssembly, resources: Mapping[str, Any]) -> list[Any]:
    review = review_path(write_assembly({"Role": ROLE, "Fn": FN, **resources}))
    (row,) = report_json.to_dict(review)["functions"]
    return [(e["kind"], e["source"], e["hop"]) for e in row["event_sources"]]


@pytest.mark.parametrize("case", CASES)
def test_each_event_source_shows_its_kind_and_hop(write_assembly: WriteAssembly, case: str) -> None:
    _rtype, resources, expected = CASES[case]
    assert _sources(write_assembly, resources) == [expected]


def test_every_extractor_has_a_case() -> None:
    assert set(EXTRACTORS) == {rtype for rtype, _, _ in CASES.values()}


def test_a_source_found_twice_is_listed_once(write_assembly: WriteAssembly) -> None:
    """A subscription and the permission that lets SNS invoke: one edge, the first found."""
    _rtype, resources, expected = CASES["sns-subscription-active-topic"]
    permission = _res(
        "AWS::Lambda::Permission",
        Action="lambda:InvokeFunction",
        FunctionName={"Ref": "Fn"},
        Principal="sns.amazonaws.com",
        SourceArn={"Ref": "Topic"},
    )
    assert _sources(write_assembly, {**resources, "P": permission}) == [expected]


#: the rule that reports an untraced hop of each kind
UPSTREAM_RULE = {"sns": "XRAY009", "apigateway": "XRAY011", "stepfunctions": "XRAY012"}


@pytest.mark.parametrize(
    "case", [name for name, (_, _, (kind, _, _)) in CASES.items() if kind in UPSTREAM_RULE]
)
def test_the_upstream_rule_fires_exactly_where_the_hop_is_not_traced(
    write_assembly: WriteAssembly, case: str
) -> None:
    _rtype, resources, (kind, _label, hop) = CASES[case]
    review = review_path(write_assembly({"Role": ROLE, "Fn": FN, **resources}))
    fired = [f for f in review.findings if f.rule_id == UPSTREAM_RULE[kind]]
    assert bool(fired) == (hop == "untraced"), fired
