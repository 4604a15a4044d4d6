"""CloudWatch Transaction Search for X-Ray spans: one construct, one per account and Region.

With Transaction Search on, X-Ray stores every span it receives in the
CloudWatch Logs log group ``aws/spans`` (the OTLP output of the layer,
``LAMBDA_XRAY_FORMAT=otlp``, and the X-Ray format alike), and indexes a
percentage of them as trace summaries. Enabling it with CloudFormation takes
two resources (AWS: "Using Transaction Search with AWS CloudFormation"):

- an ``AWS::Logs::ResourcePolicy`` that lets ``xray.amazonaws.com`` call
  ``logs:PutLogEvents`` on ``aws/spans`` and ``/aws/application-signals/data``,
  only for X-Ray of this account (``aws:SourceArn`` ``arn:<partition>:xray:
  <region>:<account>:*`` and ``aws:SourceAccount``);
- an ``AWS::XRay::TransactionSearchConfig`` with the indexing percentage,
  created after the policy.

Both are account-and-Region settings, not per-app ones: deploy one
``TransactionSearch`` per account and Region (a second one fails to deploy),
and turn Transaction Search off in the console before a stack turns it on.
"""

from __future__ import annotations

import weakref
from typing import Any, Final

from aws_cdk import Aws, Stack, Token
from aws_cdk import aws_logs as logs
from aws_cdk import aws_xray as xray
from constructs import Construct, IConstruct

from . import _inputs as i
from .errors import TracingConfigError

__all__ = [
    "APPLICATION_SIGNALS_LOG_GROUP",
    "DEFAULT_POLICY_NAME",
    "SPANS_LOG_GROUP",
    "TransactionSearch",
]

#: Where X-Ray writes spans once Transaction Search is on.
SPANS_LOG_GROUP: Final = "aws/spans"
#: Where Application Signals data goes (the same policy covers it, as AWS documents).
APPLICATION_SIGNALS_LOG_GROUP: Final = "/aws/application-signals/data"
#: The CloudWatch Logs resource policy's name in AWS's own example (unique per account/Region).
DEFAULT_POLICY_NAME: Final = "TransactionSearchAccess"
_SID: Final = "TransactionSearchXRayAccess"

#: The TransactionSearch constructs of each app, to refuse a second one for the same place.
_BY_APP: Final[weakref.WeakKeyDictionary[IConstruct, list[TransactionSearch]]] = (
    weakref.WeakKeyDictionary()
)


class TransactionSearch(Construct):
    """Turn on CloudWatch Transaction Search for the stack's account and Region.

    Creates the CloudWatch Logs resource policy that lets X-Ray write spans to
    ``aws/spans`` and ``/aws/application-signals/data`` (scoped to X-Ray of
    this account) and the ``AWS::XRay::TransactionSearchConfig`` that depends
    on it. One per account and Region: AWS keeps one such setting there.

    Args:
        scope: where to put it (usually a stack of its own, or a shared one).
        construct_id: its construct id.
        indexing_percentage: the share of spans X-Ray indexes as trace
            summaries, 0 to 100. Default: 1 (free of charge, per AWS).
        policy_name: the resource policy's name (unique per account and
            Region). Default: ``TransactionSearchAccess``, as in AWS's example.

    Raises:
        TracingConfigError: ``indexing_percentage`` outside 0..100, or a second
            ``TransactionSearch`` in this app for the same account and Region.
    """

    @i.entry(
        "TransactionSearch",
        i.scope_and_id("scope", "construct_id"),
        scope=i.CONSTRUCT,
        construct_id=i.CONSTRUCT_ID,
        indexing_percentage=i.number(example="1"),
        policy_name=i.NAME,
    )
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        indexing_percentage: float = 1,
        policy_name: str = DEFAULT_POLICY_NAME,
    ) -> None:
        _check_percentage(_path_of(scope, construct_id), indexing_percentage)
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self._claim_account_and_region(stack)
        self.resource_policy = logs.CfnResourcePolicy(
            self,
            "LogsResourcePolicy",
            policy_name=policy_name,
            policy_document=stack.to_json_string(_policy_document()),
        )
        self.config = xray.CfnTransactionSearchConfig(
            self, "Config", indexing_percentage=indexing_percentage
        )
        self.config.node.add_dependency(self.resource_policy)
        self._indexing_percentage = indexing_percentage

    @property
    def indexing_percentage(self) -> float:
        """The share of spans indexed as trace summaries (0 to 100)."""
        return self._indexing_percentage

    def _claim_account_and_region(self, stack: Stack) -> None:
        place = (stack.account, stack.region)
        others = _BY_APP.setdefault(self.node.root, [])
        for other in others:
            other_stack = Stack.of(other)
            if (other_stack.account, other_stack.region) == place:
                raise TracingConfigError(
                    self.node.path,
                    f"this app already has a TransactionSearch ({other.node.path}) for "
                    f"account {_shown(stack.account)} and Region {_shown(stack.region)}, and "
                    "AWS keeps one Transaction Search setting (and one resource policy of "
                    "that name) per account and Region",
                    "keep one TransactionSearch per account and Region, in one stack",
                )
        others.append(self)


def _check_percentage(path: str, value: float) -> None:
    if Token.is_unresolved(value):
        return  # known only at deploy time: never judged as a value
    if not 0 <= value <= 100:
        raise TracingConfigError(
            path,
            f"TransactionSearch() got indexing_percentage={value!r}, which is not a "
            "percentage from 0 to 100",
            "pass a number from 0 to 100 (1, the default, is free of charge)",
        )


def _policy_document() -> dict[str, Any]:
    logs_arn = f"arn:{Aws.PARTITION}:logs:{Aws.REGION}:{Aws.ACCOUNT_ID}:log-group:"
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": _SID,
                "Effect": "Allow",
                "Principal": {"Service": "xray.amazonaws.com"},
                "Action": "logs:PutLogEvents",
                "Resource": [
                    f"{logs_arn}{SPANS_LOG_GROUP}:*",
                    f"{logs_arn}{APPLICATION_SIGNALS_LOG_GROUP}:*",
                ],
                "Condition": {
                    "ArnLike": {
                        "aws:SourceArn": f"arn:{Aws.PARTITION}:xray:{Aws.REGION}:{Aws.ACCOUNT_ID}:*"
                    },
                    "StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID},
                },
            }
        ],
    }


def _path_of(scope: Construct, construct_id: str) -> str:
    parent = scope.node.path
    return f"{parent}/{construct_id}" if parent else construct_id


def _shown(value: str) -> str:
    return "(the deploy-time one)" if Token.is_unresolved(value) else value
