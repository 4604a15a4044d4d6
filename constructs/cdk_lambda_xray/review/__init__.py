"""Review a synthesized cloud assembly (``cdk.out``) for X-Ray tracing coverage.

``python -m cdk_lambda_xray review cdk.out`` runs :func:`cli.main`. The review
reads only the assembly (stdlib + jinja2, no CDK import), so it works on any
CDK app and on hand-written templates.
"""
