"""Fixtures: a small rendered city, and the default demo city (rendered once per session)."""

from __future__ import annotations

from pathlib import Path

import pytest
from simulate_helpers import SCENARIOS, SMALL

from perceptops.config import SyntheticParams
from perceptops.data.simulate import SyntheticCity, synthesize


@pytest.fixture(scope="module")
def small_city(tmp_path_factory) -> tuple[SyntheticCity, Path]:
    out = tmp_path_factory.mktemp("small-city")
    return synthesize(SyntheticParams(**SMALL), SCENARIOS, out), out


@pytest.fixture(scope="session")
def demo_city(tmp_path_factory) -> SyntheticCity:
    """The embedded default demo (params defaults: 240 scenes, 160 raters x 60 votes x 3 questions)."""
    return synthesize(SyntheticParams(), SCENARIOS, tmp_path_factory.mktemp("demo-city"))
