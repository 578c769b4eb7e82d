"""Fixtures of the model tests (helpers in modeltest_support.py: a unique module name, since
``conftest`` itself is ambiguous across the suite)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# --import-mode=importlib leaves sys.path alone: make this folder's helper module importable.
sys.path.insert(0, str(Path(__file__).resolve().parent))

from modeltest_support import small_params, write_city  # noqa: E402

from perceptops.paths import Layout  # noqa: E402


@pytest.fixture
def city(tmp_path: Path) -> tuple[Layout, dict]:
    info = write_city(tmp_path)
    return Layout(tmp_path), info


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[Layout, dict, object]:
    """A generated city with labels and a trained general model (shared by a module's tests: read-only)."""
    from perceptops.model.labels import make_labels
    from perceptops.model.train import train_general

    root = tmp_path_factory.mktemp("trained")
    info = write_city(root)
    params = small_params()
    layout = Layout(root)
    make_labels(params, layout)
    train_general(params, layout)
    return layout, info, params
