"""Fixtures of tests/maps (helpers in maps_support.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from maps_support import ALL_TARGETS, PARAMS, SMALL, SMALL_TARGETS, Champion, champions_for

from support import REPO_ROOT


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
