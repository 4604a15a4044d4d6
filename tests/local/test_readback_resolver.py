"""Read-back comparison rules that need no emulator: intrinsic resolution and reporting."""

from __future__ import annotations

from cdk_lambda_xray.local.readback import _UNRESOLVED, Check, Readback, _Resolver

FN_ARN = "arn:aws:lambda:us-east-1:000000000000:function:Writer"


def _resolver() -> _Resolver:
    return _Resolver({"Bucket": "my-bucket", "Fn": "Writer"}, {"Fn": FN_ARN}, "us-east-1")


def test_ref_resolves_to_the_physical_id_and_pseudo_parameters() -> None:
    r = _resolver()
    assert r.resolve({"Ref": "Bucket"}) == "my-bucket"
    assert r.resolve({"Ref": "AWS::Region"}) == "us-east-1"
    assert r.resolve({"Ref": "AWS::AccountId"}) == "000000000000"


def test_getatt_arn_of_a_function_and_join() -> None:
    r = _resolver()
    assert r.resolve({"Fn::GetAtt": ["Fn", "Arn"]}) == FN_ARN
    assert r.resolve({"Fn::Join": ["", ["s3://", {"Ref": "Bucket"}]]}) == "s3://my-bucket"


def test_anything_else_is_unresolved_never_guessed() -> None:
    r = _resolver()
    assert r.resolve({"Ref": "Unknown"}) is _UNRESOLVED
    assert r.resolve({"Fn::GetAtt": ["Bucket", "DomainName"]}) is _UNRESOLVED
    assert r.resolve({"Fn::Sub": "${Bucket}"}) is _UNRESOLVED
    assert r.resolve([{"Ref": "Bucket"}, {"Ref": "Unknown"}]) is _UNRESOLVED


def test_summary_lists_each_difference_and_what_was_not_compared() -> None:
    result = Readback("S")
    result.checks += [
        Check("Fn", "Handler", "lambda_xray.handler.handler", "lambda_xray.handler.handler"),
        Check("Fn", "TracingConfig.Mode", "Active", "PassThrough"),
    ]
    result.not_compared.append("Fn: Environment.X (template value not resolvable)")
    lines = result.summary().splitlines()
    assert lines[0] == "2 settings compared, 1 differences, 1 not compared"
    assert lines[1] == "  DIFF Fn: TracingConfig.Mode: template 'Active', deployed 'PassThrough'"
    assert lines[2] == "  not compared: Fn: Environment.X (template value not resolvable)"
