"""Fixtures of tests/monitor (helpers in monitor_support.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from monitor_support import PARAMS

from support import REPO_ROOT


@pytest.fixture
def params():
    return PARAMS


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    (root / "monitoring").mkdir(parents=True)
    shutil.copy(REPO_ROOT / "params.yaml", root / "params.yaml")
    shutil.copy(REPO_ROOT / "monitoring" / "drift.yaml", root / "monitoring" / "drift.yaml")
    return root
