"""Which request parameters name the AWS resource a call touches, per service.

Only identifiers of resources go into trace data (a table, a bucket, a queue,
a topic, a function, a stream, a state machine), never payloads, object keys,
message bodies, item keys or attribute values. Keys of this table are
botocore service ids; values map a request parameter to the ``aws`` field.
Parameters that hold a mapping keyed by resource name (DynamoDB batch calls)
are recorded as the list of its keys under the plural field.
"""

from __future__ import annotations

from collections.abc import Mapping

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Final

# parameter -> aws field, for every operation of the service that has it.
SCALAR_FIELDS: Final[Mapping[str, Mapping[str, str]]] = {
    "DynamoDB": {"TableName": "table_name", "IndexName": "index_name"},
    "S3": {"Bucket": "bucket_name"},
    "SQS": {"QueueUrl": "queue_url", "QueueName": "queue_name"},
    "SNS": {"TopicArn": "topic_arn", "TargetArn": "target_arn"},
    "Lambda": {"FunctionName": "function_name", "Qualifier": "qualifier"},
    "Kinesis": {"StreamName": "stream_name", "StreamARN": "stream_arn"},
    "Firehose": {"DeliveryStreamName": "delivery_stream_name"},
    "SFN": {"stateMachineArn": "state_machine_arn"},
    "EventBridge": {"EventBusName": "event_bus_name"},
    "Secrets Manager": {"SecretId": "secret_id"},
    "SSM": {"Name": "parameter_name"},
}

# parameter (a mapping keyed by resource name) -> aws field for the key list.
MAPPING_KEYS_FIELDS: Final[Mapping[str, Mapping[str, str]]] = {
    "DynamoDB": {"RequestItems": "table_names"},
}

# Error codes that mean "slow down" (botocore's standard retry mode list):
# recorded as throttle + error, whatever the HTTP status.
THROTTLING_CODES: Final = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "TransactionInProgressException",
        "RequestLimitExceeded",
        "BandwidthLimitExceeded",
        "LimitExceededException",
        "RequestThrottled",
        "SlowDown",
        "PriorRequestNotComplete",
        "EC2ThrottledException",
    }
)


class ResourceExtractor:
    """Copies the resource identifiers of one service's calls into ``aws``."""

    __slots__ = ("_keys", "_scalars")

    def __init__(self, service_id: str) -> None:
        self._scalars = tuple(SCALAR_FIELDS.get(service_id, {}).items())
        self._keys = tuple(MAPPING_KEYS_FIELDS.get(service_id, {}).items())

    def __bool__(self) -> bool:
        return bool(self._scalars or self._keys)

    def extract(self, params: Mapping[str, Any], aws: dict[str, Any]) -> None:
        """Add the fields found in ``params`` to ``aws`` (strings only)."""
        for param, field in self._scalars:
            value = params.get(param)
            if value is not None and type(value) is str:
                aws[field] = value
        for param, field in self._keys:
            value = params.get(param)
            if value is not None and isinstance(value, Mapping):
                names = [k for k in value if type(k) is str]
                if names:
                    aws[field] = names
