"""What AWS and CDK do, as data: the facts the review's extraction and hop judgement read.

No logic here, only tables: which resource type or ARN service or principal is
which kind of event source, whether each kind passes the trace context on,
which IAM actions belong to Lambda's event-source poller, how CDK's own
functions are named. A new service is one row, not another ``if``.
"""

from __future__ import annotations

import re
from typing import Final

from .model import HopStatus

__all__ = [
    "ARN_SERVICE_KIND",
    "FIXED_HOPS",
    "INTERNAL_MARKERS",
    "LAMBDA_ARN",
    "NOT_DOWNSTREAM",
    "POLLER_ACTIONS",
    "PRINCIPAL_KIND",
    "RECORDS_WITHOUT_CONTEXT",
    "ROLE_ARN",
    "SELF_MANAGED_KAFKA",
    "TYPE_KIND",
    "XRAY_SDK_END_OF_SUPPORT",
    "XRAY_WRITE_ACTIONS",
    "XRAY_WRITE_MANAGED_POLICIES",
]

#: the day AWS ends support for the X-Ray SDKs and daemon (maintenance since 2026-02-25)
XRAY_SDK_END_OF_SUPPORT: Final = "2027-02-25"

#: what Lambda needs on the execution role to send a function's segments
XRAY_WRITE_ACTIONS: Final = ("xray:PutTraceSegments", "xray:PutTelemetryRecords")

#: AWS managed policies that grant both actions
XRAY_WRITE_MANAGED_POLICIES: Final = frozenset(
    {
        "AWSXRayDaemonWriteAccess",
        "AWSXrayWriteOnlyAccess",
        "AWSXrayFullAccess",
        "AdministratorAccess",
        "PowerUserAccess",
    }
)

#: a function ARN (with an optional alias or version); group 1 is the function name
LAMBDA_ARN: Final = re.compile(r"^arn:[^:]*:lambda:[^:]*:[^:]*:function:([^:]+)(?::[^:]+)?$")
#: a role ARN (any path); group 1 is the role name
ROLE_ARN: Final = re.compile(r":role/(?:.*/)?([^/]+)$")

#: CDK-internal functions: (kind, marker in construct path / logical id / description)
INTERNAL_MARKERS: Final = (
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
POLLER_ACTIONS: Final = frozenset(
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
NOT_DOWNSTREAM: Final = frozenset({"xray", "logs"})

_STREAM_RECORDS: Final = "stream records carry no trace context; the trace starts at the function"
_NO_CONTEXT: Final = "records carry no trace context; the trace starts at the function"

#: event source kind -> (hop status, detail) when the status does not depend on a setting
FIXED_HOPS: Final = {
    "sqs": (HopStatus.PROPAGATED, "SQS passes the trace header (AWSTraceHeader) to Lambda"),
    "s3": (HopStatus.PROPAGATED, "S3 passes the trace context to the notification"),
    "eventbridge": (HopStatus.PROPAGATED, "EventBridge passes the trace header to its targets"),
    "alb": (HopStatus.PROPAGATED, "the load balancer adds X-Amzn-Trace-Id"),
    "apigateway-v2": (
        HopStatus.NOT_SUPPORTED,
        "HTTP and WebSocket APIs do not support X-Ray; the trace starts at the function",
    ),
    "dynamodb-stream": (HopStatus.NOT_SUPPORTED, _STREAM_RECORDS),
    "kinesis": (HopStatus.NOT_SUPPORTED, _STREAM_RECORDS),
    "scheduler": (HopStatus.NOT_SUPPORTED, "each scheduled invocation starts a new trace"),
}

#: event source mappings of these kinds poll records that carry no trace context
RECORDS_WITHOUT_CONTEXT: Final = {
    "kafka": (HopStatus.NOT_SUPPORTED, _NO_CONTEXT),
    "mq": (HopStatus.NOT_SUPPORTED, _NO_CONTEXT),
}
#: an event source mapping of a self-managed Kafka cluster (no ARN)
SELF_MANAGED_KAFKA: Final = (
    "self-managed Kafka",
    (HopStatus.NOT_SUPPORTED, "self-managed Kafka records carry no trace context"),
)

#: CloudFormation type of an event source -> its kind
TYPE_KIND: Final = {
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

#: service part of an event source ARN -> its kind
ARN_SERVICE_KIND: Final = {
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

#: service principal of an ``AWS::Lambda::Permission`` -> the kind of source it lets invoke
PRINCIPAL_KIND: Final = {
    "s3.amazonaws.com": "s3",
    "sns.amazonaws.com": "sns",
    "sqs.amazonaws.com": "sqs",
    "events.amazonaws.com": "eventbridge",
    "apigateway.amazonaws.com": "apigateway",
    "states.amazonaws.com": "stepfunctions",
    "scheduler.amazonaws.com": "scheduler",
    "elasticloadbalancing.amazonaws.com": "alb",
}
