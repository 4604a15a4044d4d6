"""botocore (and so boto3): one ``aws`` subsegment per API call, retries included.

Two class-level wraps, so clients created before the layer loaded are traced
too (every client class derives from ``BaseClient``, every client owns an
``Endpoint``):

- ``BaseClient._make_api_call``: opens the subsegment named after the service
  id (``DynamoDB``, ``S3``, ``SQS``, ...; with ``LAMBDA_XRAY_AWS_NAMES=sdk``
  aws-xray-sdk's names, see :func:`_subsegment_name`), records operation, region, resource
  identifiers, request id, retries and status, sets the flags and closes it.
- ``Endpoint.create_request``: called for every attempt, puts the trace
  header of the current call on the request (after botocore's own recursion
  detection header, which it replaces with one naming this subsegment).

X-Ray's own API is never traced. While a call is recorded the HTTP layer
below (urllib3, http.client) is not traced again.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping

from lambda_xray import _recorder, config
from lambda_xray.context import ContextMissingError
from lambda_xray.patches import _common

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from types import ModuleType
    from typing import Any, Final

# -- which request parameters name the AWS resource a call touches, per service --------
#
# Only identifiers of resources go into trace data (a table, a bucket, a queue,
# a topic, a function, a stream, a state machine), never payloads, object keys,
# message bodies, item keys or attribute values. Keys of these tables are
# botocore service ids; values map a request parameter to the ``aws`` field.
# Parameters that hold a mapping keyed by resource name (DynamoDB batch calls)
# are recorded as the list of its keys under the plural field.

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


if TYPE_CHECKING:
    #: One service's resource fields: ``(scalar fields, mapping-keys fields)``, each a
    #: tuple of ``(parameter, aws field)``. A tuple and a function, not a class: a class
    #: costs a cold start about as much as a small module's body.
    Extractor = tuple[tuple[tuple[str, str], ...], tuple[tuple[str, str], ...]]


def resource_extractor(service_id: str) -> Extractor | None:
    """What copies the resource identifiers of one service's calls (:func:`extract`);
    ``None`` for a service without resource fields."""
    scalars = tuple(SCALAR_FIELDS.get(service_id, {}).items())
    keys = tuple(MAPPING_KEYS_FIELDS.get(service_id, {}).items())
    return (scalars, keys) if scalars or keys else None


def extract(extractor: Extractor, params: Mapping[str, Any], aws: dict[str, Any]) -> None:
    """Add the fields ``extractor`` names that ``params`` holds to ``aws`` (strings only)."""
    scalars, keys = extractor
    for param, field in scalars:
        value = params.get(param)
        if value is not None and type(value) is str:
            aws[field] = value
    for param, field in keys:
        value = params.get(param)
        if value is not None and isinstance(value, Mapping):
            names = [k for k in value if type(k) is str]
            if names:
                aws[field] = names


_SKIPPED_SERVICES: Final = frozenset({"XRay"})
#: aws_xray_sdk patches that record an AWS call (botocore itself, or the HTTP below it).
_XRAY_SDK_COVERS: Final = ("botocore", "httplib")

_end = _common.end
# service name (botocore's, e.g. "dynamodb") -> (subsegment name or None to skip,
# extractor or None when the service has no resource fields, the settings the name is for)
_services: dict[str, tuple[str | None, Extractor | None, config.Config]] = {}


def patch(client_module: ModuleType) -> None:
    """Wrap ``BaseClient._make_api_call`` and ``Endpoint.create_request`` (idempotent)."""
    endpoint_module = sys.modules.get("botocore.endpoint")
    if endpoint_module is None:  # botocore.client imports it; this is only a fallback
        __import__("botocore.endpoint")
        endpoint_module = sys.modules["botocore.endpoint"]
    _common.wrap(client_module.BaseClient, "_make_api_call", _wrap_make_api_call)
    _common.wrap(endpoint_module.Endpoint, "create_request", _wrap_create_request)


def _service(client: Any) -> tuple[str | None, Extractor | None, config.Config]:
    model = client._service_model
    key = model.service_name
    settings = config.get()
    found = _services.get(key)
    if found is None or found[2] is not settings:
        service_id = str(model.service_id)
        name = None if service_id in _SKIPPED_SERVICES else _subsegment_name(model, settings)
        found = _services[key] = (name, resource_extractor(service_id), settings)
    return found


def _subsegment_name(model: Any, settings: config.Config) -> str:
    """The name of an AWS call's subsegment: the service id (``DynamoDB``, ``S3``, ``SFN``).

    With ``LAMBDA_XRAY_AWS_NAMES=sdk`` in the X-Ray format: aws-xray-sdk's
    name, the endpoint prefix (``dynamodb``, ``s3``, ``states``), so saved
    trace-map filters and groups keep matching. OTLP spans keep the service
    id (``rpc.service``, ``aws.remote.service`` follow the conventions).
    """
    service_id = str(model.service_id)
    if settings.aws_names == config.AWS_NAMES_SDK and settings.format == config.FORMAT_XRAY:
        prefix = model.metadata.get("endpointPrefix")
        if isinstance(prefix, str) and prefix:
            return prefix
    return service_id


def _start(client: Any, operation: str, params: Any) -> tuple[Any, str] | None:
    """Open and describe the call's subsegment; ``None`` for a call never traced.

    Returns ``(subsegment or None, header or "")``.
    """
    entry = _services.get(client._service_model.service_name)
    if entry is None or entry[2] is not config.get():
        entry = _service(client)
    name = entry[0]
    if name is None:
        return None
    sub = _recorder.begin_subsegment(name, "aws")
    if sub is None:
        return None, _recorder.outgoing_trace_header(None) or ""
    aws = sub.aws
    aws["operation"] = operation
    region = client.meta.region_name
    if region:
        aws["region"] = region
    extractor = entry[1]
    if extractor is not None and isinstance(params, dict):
        extract(extractor, params, aws)
    return sub, _recorder.outgoing_trace_header(sub) or ""


def _wrap_make_api_call(original: Callable[..., Any]) -> Callable[..., Any]:
    in_call = _common.in_traced_call
    not_traced = (None, "")

    def _make_api_call(self: Any, operation_name: str, api_params: Any) -> Any:
        try:
            # aws_xray_sdk records this call: pass it through, as for X-Ray's own API.
            if _common.xray_sdk_records(_XRAY_SDK_COVERS):
                started = None
            else:
                started = _start(self, operation_name, api_params)
        except ContextMissingError:
            raise  # RUNTIME_ERROR mode: the user asked for it
        except Exception:
            _common.warn_once("botocore-start", "could not trace an AWS call")
            started = not_traced
        if started is None:  # X-Ray's own API, or aws_xray_sdk's: not traced at any layer
            token = in_call.set("")
            try:
                return original(self, operation_name, api_params)
            finally:
                in_call.reset(token)
        sub, header = started
        token = in_call.set(header)
        try:
            result = original(self, operation_name, api_params)
        except BaseException as exc:
            if sub is not None:
                _finish_error(sub, exc)
            raise
        finally:
            in_call.reset(token)
        if sub is not None:
            _finish(sub, result)
        return result

    return _make_api_call


def _wrap_create_request(original: Callable[..., Any]) -> Callable[..., Any]:
    in_call = _common.in_traced_call
    name = _common.TRACE_HEADER

    def create_request(self: Any, params: Any, operation_model: Any = None) -> Any:
        value = in_call.get()
        if value:  # the header of the AWS call in progress in this context
            try:
                params["headers"][name] = value
            except Exception:
                _common.warn_once("botocore-header", "could not add the trace header")
        return original(self, params, operation_model)

    return create_request


def _record_metadata(sub: Any, response: Any) -> int | None:
    """Copy request id and retries from ``ResponseMetadata``; return the status."""
    meta = response.get("ResponseMetadata") if isinstance(response, dict) else None
    if not isinstance(meta, dict):
        return None
    aws = sub.aws
    request_id = meta.get("RequestId")
    if request_id:
        aws["request_id"] = request_id
    host_id = meta.get("HostId")
    if host_id:
        aws["id_2"] = host_id
    retries = meta.get("RetryAttempts")
    if retries is not None:
        aws["retries"] = retries
    status = meta.get("HTTPStatusCode")
    return status if type(status) is int else None


def _finish(sub: Any, result: Any) -> None:
    try:
        # The usual case, the short way: a 2xx/3xx answer, sent as the UDP datagram.
        meta = result.get("ResponseMetadata") if type(result) is dict else None
        if type(meta) is dict:
            status = meta.get("HTTPStatusCode")
            if type(status) is int and 100 <= status < 400:
                get = meta.get
                if _recorder.end_aws_call(
                    sub, status, get("RequestId"), get("HostId"), get("RetryAttempts")
                ):
                    return
    except Exception:
        pass
    try:
        status = _record_metadata(sub, result)
    except Exception:
        status = None
        _common.warn_once("botocore-result", "could not read an AWS response")
    _recorder.end_subsegment(sub, status=status)  # no error to redact: never raises


def _finish_error(sub: Any, exc: BaseException) -> None:
    status: int | None = None
    try:
        # ClientError and its modeled subclasses carry the parsed error response.
        response = getattr(exc, "response", None)
        if isinstance(response, dict):
            status = _record_metadata(sub, response)
            error = response.get("Error")
            code = error.get("Code") if isinstance(error, dict) else None
            if code in THROTTLING_CODES:
                sub.throttle = True
                sub.error = True
    except Exception:
        _common.warn_once("botocore-error", "could not read an AWS error response")
    _end(sub, status=status, error=exc)
