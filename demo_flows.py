"""The reference app's flows for ``make demo`` (``python -m cdk_lambda_xray demo``).

What the demo deploys (``STACK``, app.py's ``STACK_ID``), what it makes each
flow do (through the stack outputs app.py declares, never a physical name),
and what each flow's trace must show. The local tooling is generic; this file
is the reference app's own knowledge, kept next to ``app.py``. Any app can have
one: ``python -m cdk_lambda_xray demo --app-dir DIR`` reads ``DIR/demo_flows.py``
(see docs/local.md).
"""

from __future__ import annotations

from typing import Final

from cdk_lambda_xray.local.flows import FlowSpec, invoke, publish, put_object

#: The stack to deploy (app.py: ``STACK_ID``).
STACK: Final = "LambdaXrayReference"

#: The stack outputs the flows use (app.py: the ``CfnOutput`` ids).
UPLOAD_BUCKET: Final = "UploadBucketName"
WRITER_FUNCTION: Final = "WriterFunctionName"
TOPIC: Final = "TopicArn"

FLOWS: Final = (
    FlowSpec(
        "upload",
        "S3 upload -> RecordUpload -> DynamoDB",
        "record_upload.handler",
        (("DynamoDB", "ListTables"), ("DynamoDB", "PutItem")),
        action=put_object(
            UPLOAD_BUCKET, "uploads/demo-{stamp}.txt", b"uploaded by the cdk-lambda-xray demo\n"
        ),
    ),
    FlowSpec(
        "invoke",
        "invoke WriteObject -> S3",
        "write_object.handler",
        (("S3", "PutObject"),),
        action=invoke(WRITER_FUNCTION, {"key": "demo/{stamp}.txt", "body": "hello from the demo"}),
    ),
    FlowSpec(
        "publish",
        "SNS publish -> Notify -> DynamoDB (OTLP spans)",
        "notify.handler",
        (("DynamoDB", "PutItem"),),
        action=publish(TOPIC, "hello from the demo {stamp}", subject="demo"),
        wire_format="otlp",
    ),
    FlowSpec(
        "failure",
        "invoke WriteObject with fail=true",
        "write_object.handler",
        fault_message="requested failure",
        action=invoke(WRITER_FUNCTION, {"fail": True}, expect_error=True),
    ),
)
