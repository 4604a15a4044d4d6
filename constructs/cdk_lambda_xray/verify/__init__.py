"""``verify``: what a cloud assembly promises (the review's service map) against traces.

See :mod:`cdk_lambda_xray.verify.compare` for what is compared and
:mod:`cdk_lambda_xray.verify.cli` for the command.
"""

from cdk_lambda_xray.verify.compare import Finding, HopCheck, HopState, Verification, verify_map

__all__ = ["Finding", "HopCheck", "HopState", "Verification", "verify_map"]
