"""Shared test set-up: paths and the environment every test process needs."""

from __future__ import annotations

import os
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
LAYER_PYTHON = REPO_ROOT / "layers" / "lambda_xray" / "python"
#: AWS's published segment document schema (a copy of shared/reference/, so a bare clone has it).
SCHEMA_PATH = REPO_ROOT / "tests" / "data" / "xray-segmentdocument-schema-v1.0.0.json"

# jsii prints a Node 20 end-of-life banner in every process that loads the CDK.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

# The runtime package lives where a layer puts it (/opt/python); make it importable.
if str(LAYER_PYTHON) not in sys.path:
    sys.path.insert(0, str(LAYER_PYTHON))
