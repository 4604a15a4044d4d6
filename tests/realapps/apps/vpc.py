"""A function in a VPC (aws-samples "lambda-vpc" shape, isolated subnets, no NAT)."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_lambda as lambda_

from ._shared import PY, Reason, plain_code

REASONS: list[Reason] = []


def build(app: cdk.App) -> None:
    stack = cdk.Stack(app, "Vpc")
    vpc = ec2.Vpc(
        stack,
        "Network",
        max_azs=1,
        nat_gateways=0,
        subnet_configuration=[
            ec2.SubnetConfiguration(name="private", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
        ],
    )
    lambda_.Function(
        stack,
        "InVpc",
        runtime=PY,
        handler="index.handler",
        code=plain_code(),
        vpc=vpc,
        vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED),
    )
