"""Which resource of the assembly a node of the trace map is.

Traces name deployed resources (``LambdaXrayReference-TableCD117FA1-E3E1...``,
a bucket's lower-case name, a function's name, the layer's ``Service``
annotation and handler); templates name logical ids. A node matches a
resource when the name is the one the template sets (``TableName``,
``BucketName``, ``FunctionName``, ...) or the one CloudFormation generates:
the stack name, a dash, then the logical id (truncated) and a random suffix.
A function also matches by the layer's ``Service`` annotation
(``LAMBDA_XRAY_SERVICE_NAME``) or, when only one function has it, by its
original handler (``LAMBDA_XRAY_HANDLER``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from cdk_lambda_xray._contract import ENV_HANDLER
from cdk_lambda_xray.local.tracemap import MapNode
from cdk_lambda_xray.review.assembly import Assembly
from cdk_lambda_xray.review.model import Function, Model
from cdk_lambda_xray.review.resolve import ResourceId

__all__ = ["Matcher", "iam_service"]

#: map node kind -> (CloudFormation type, the property that names it)
_KIND_TYPES: Final = {
    "bucket": ("AWS::S3::Bucket", "BucketName"),
    "table": ("AWS::DynamoDB::Table", "TableName"),
    "topic": ("AWS::SNS::Topic", "TopicName"),
    "queue": ("AWS::SQS::Queue", "QueueName"),
}
#: X-Ray's service names (botocore service ids) -> IAM service prefixes, where they differ
_IAM_PREFIX: Final = {
    "sfn": "states",
    "eventbridge": "events",
    "cloudwatchevents": "events",
    "cloudwatchlogs": "logs",
    "apigateway": "execute-api",
}
#: a generated name keeps at least this much of the logical id
_MIN_ID_PREFIX: Final = 16
_ENV_SERVICE: Final = "LAMBDA_XRAY_SERVICE_NAME"


def iam_service(name: str) -> str:
    """The IAM prefix of an AWS service as traces name it (``DynamoDB`` -> ``dynamodb``)."""
    compact = name.lower().replace(" ", "").replace("-", "")
    return _IAM_PREFIX.get(compact, compact)


def _generated(name: str, stack: str, logical_id: str) -> bool:
    """``name`` is CloudFormation's ``<stack>-<logical id, truncated><suffix>`` (any case)."""
    low, prefix = name.lower(), f"{stack.lower()}-"
    if not low.startswith(prefix):
        return False
    rest, lid = low[len(prefix) :], logical_id.lower()
    common = 0
    for a, b in zip(rest, lid, strict=False):
        if a != b:
            break
        common += 1
    return common == len(lid) or common >= _MIN_ID_PREFIX


@dataclass
class _Named:
    rid: ResourceId
    stack: str
    explicit: str | None


class Matcher:
    """Matches map nodes to the functions and resources of one assembly."""

    def __init__(self, assembly: Assembly, model: Model) -> None:
        self.model = model
        self._stack_names = {key: t.display_name for key, t in assembly.templates.items()}
        self._resources: dict[str, list[_Named]] = {kind: [] for kind in _KIND_TYPES}
        self._functions: list[_Named] = []
        for key, template in assembly.templates.items():
            for logical_id, resource in template.resources.items():
                if not isinstance(resource, dict):
                    continue
                rid = ResourceId(key, logical_id)
                props = resource.get("Properties")
                props = props if isinstance(props, dict) else {}
                for kind, (rtype, prop) in _KIND_TYPES.items():
                    if resource.get("Type") == rtype:
                        self._resources[kind].append(self._named(rid, props.get(prop)))
                if rid in model.functions:
                    self._functions.append(self._named(rid, props.get("FunctionName")))

    def _named(self, rid: ResourceId, explicit: Any) -> _Named:
        stack = self._stack_names.get(rid.stack, rid.stack).rsplit("/", 1)[-1]
        return _Named(rid, stack, explicit if isinstance(explicit, str) else None)

    @staticmethod
    def _is(named: _Named, name: str, *, any_case: bool = False) -> bool:
        if named.explicit is not None:
            same = named.explicit.lower() == name.lower() if any_case else named.explicit == name
            if same:
                return True
        return _generated(name, named.stack, named.rid.logical_id)

    def resource(self, node: MapNode) -> ResourceId | None:
        """The bucket, table, topic or queue ``node`` is, if the assembly defines it."""
        if node.kind in {"function", "lambda"}:
            return self.function(node)
        for named in self._resources.get(node.kind, []):
            if self._is(named, node.raw_name, any_case=node.kind == "bucket"):
                return named.rid
        return None

    def function(self, node: MapNode) -> ResourceId | None:
        """The function ``node`` (a function or Lambda service node) is, if any."""
        if node.kind not in {"function", "lambda"}:
            return None
        for name in (node.raw_name, *node.services):
            for named in self._functions:
                if self._is(named, name):
                    return named.rid
        by_service = [
            f.id for f in self.model.functions.values() if _env(f, _ENV_SERVICE) in node.services
        ]
        if len(by_service) == 1:
            return by_service[0]
        handlers = set(node.handlers) or {node.raw_name}
        by_handler = [f.id for f in self.model.functions.values() if _handler(f) in handlers]
        return by_handler[0] if len(by_handler) == 1 else None


def _env(function: Function, name: str) -> str | None:
    return function.env_literal(name)


def _handler(function: Function) -> str | None:
    """The handler the user wrote (the layer's redirect undone)."""
    return _env(function, ENV_HANDLER) or function.handler
