"""The layer's shared modules, imported from the layer's own files: no copies.

This package's path is the layer's package directory (``_layer/python/lambda_xray``,
the layer asset this library ships), so ``from cdk_lambda_xray._shared import
_contract`` runs the very file the layer runs. The layer's ``__init__`` is not
run. Only the modules in :data:`SHARED` are loaded this way: they import
nothing but each other (relatively) and the standard library, which a test
checks.
"""

from __future__ import annotations

import os

#: The layer modules both halves read: the names and the grammar of their values.
SHARED = ("_contract",)

__path__ = [
    os.path.realpath(
        os.path.join(os.path.dirname(__file__), os.pardir, "_layer", "python", "lambda_xray")
    )
]
