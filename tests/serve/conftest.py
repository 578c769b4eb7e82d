"""Fixtures for serving: a throwaway project whose MLflow registry holds small stand-in champions.

The stand-ins are real perceptops nets (``perceptops.model.net``) saved in the model package format
(``model.pt`` + ``config.json``) for the configured encoders, logged the way the register stage logs
them (``mlflow.pytorch.log_model`` with the model folder as extra files) into a sqlite registry in tmp,
with lineage tags and alias ``champion``. ``perceptops package`` then runs as a subprocess.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from serve_helpers import SMALL, register_standins

from support import make_project, perceptops


@pytest.fixture(scope="session")
def serve_project(tmp_path_factory) -> Path:
    root = make_project(tmp_path_factory.mktemp("serve") / "proj", SMALL)
    os.environ.pop("MLFLOW_TRACKING_URI", None)
    register_standins(root)
    return root


@pytest.fixture(scope="session")
def packaged(serve_project) -> dict[str, Any]:
    """`perceptops package --json` in the project (subprocess: BentoML reads BENTOML_HOME at import)."""
    r = perceptops(serve_project, "package", "--json", timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    out = json.loads(r.stdout)
    out["root"] = serve_project
    return out
