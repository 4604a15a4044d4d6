"""Small CDK Python apps in the shapes real public apps have (one stack each)."""

__all__ = [
    "api_lambda",
    "custom_resources",
    "kinesis",
    "nodejs",
    "roles",
    "runtimes",
    "s3_trigger",
    "schedule",
    "sns_sqs_lambda",
    "step_functions",
    "user_layers",
    "vpc",
    "xray_sdk",
]
