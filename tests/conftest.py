"""Suite-wide settings: offline, telemetry off, and the shared data folder."""

from __future__ import annotations

import os

# Set before anything imports mlflow/transformers/bentoml: never wait on the network, never phone home.
for _k, _v in {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "DO_NOT_TRACK": "true",
    "BENTOML_DO_NOT_TRACK": "true",
    "DVC_NO_ANALYTICS": "1",
    "TOKENIZERS_PARALLELISM": "false",
}.items():
    os.environ.setdefault(_k, _v)

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from support import REPO_ROOT, shared_dir  # noqa: E402


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def shared() -> Path:
    """../shared (or $PERCEPTOPS_SHARED); skips only where it is genuinely absent (a user's machine)."""
    d = shared_dir()
    if not d.is_dir():
        pytest.skip(f"shared data folder {d} is absent (set PERCEPTOPS_SHARED)")
    return d
