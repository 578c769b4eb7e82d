"""Benchmark suite settings: the same offline/telemetry environment as the tests."""

from __future__ import annotations

from perceptops.offline import apply_offline_defaults

# Before anything imports mlflow/transformers/bentoml: never wait on the network, never phone home.
apply_offline_defaults()

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from support import REPO_ROOT, shared_dir  # noqa: E402


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def shared() -> Path:
    d = shared_dir()
    if not d.is_dir():
        pytest.skip(f"shared data folder {d} is absent (set PERCEPTOPS_SHARED)")
    return d
