"""Fixtures of tests/monitor (helpers in monitor_support.py)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

# --import-mode=importlib puts no test folder on sys.path: make this folder's helper module importable.
sys.path.insert(0, str(Path(__file__).resolve().parent))

import pytest  # noqa: E402
from monitor_support import PARAMS  # noqa: E402

from support import REPO_ROOT  # noqa: E402


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
