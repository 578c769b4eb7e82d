"""Fixtures of tests/maps (helpers in maps_support.py)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

# --import-mode=importlib puts no test folder on sys.path: make this folder's helper module importable.
sys.path.insert(0, str(Path(__file__).resolve().parent))

import pytest  # noqa: E402
from maps_support import ALL_TARGETS, PARAMS, SMALL, SMALL_TARGETS, Champion, champions_for  # noqa: E402

from support import REPO_ROOT  # noqa: E402


@pytest.fixture
def params():
    return SMALL


@pytest.fixture
def full_params():
    return PARAMS


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    root.mkdir()
    shutil.copy(REPO_ROOT / "params.yaml", root / "params.yaml")
    return root


@pytest.fixture
def champions() -> list[Champion]:
    return champions_for(SMALL_TARGETS)


@pytest.fixture
def all_champions() -> list[Champion]:
    return champions_for(ALL_TARGETS)
