"""The public API is ``__all__``: every name resolves, nothing private leaks."""

from __future__ import annotations

import subprocess
import sys

import pytest

import cdk_lambda_xray


def test_all_lists_exactly_the_lazy_exports() -> None:
    assert cdk_lambda_xray.__all__ == sorted(cdk_lambda_xray._EXPORTS)


@pytest.mark.parametrize("name", cdk_lambda_xray.__all__)
def test_every_public_name_resolves_and_is_documented(name: str) -> None:
    value = getattr(cdk_lambda_xray, name)
    assert value.__doc__, f"{name} has no docstring"


def test_unknown_names_raise_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'NotThere'"):
        _ = cdk_lambda_xray.NotThere


def test_importing_the_package_does_not_load_the_cdk() -> None:
    # The command-line tools (collect, traces, review) must start fast.
    code = "import sys, cdk_lambda_xray; print('aws_cdk' in sys.modules, 'jsii' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    ).stdout.split()
    assert out == ["False", "False"]
