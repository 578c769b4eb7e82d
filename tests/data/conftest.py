"""Fixtures of the data layer: a tmp project, the corrupt-file corpus, the simulate stand-in."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import pytest
from svi_fixtures import FakeSimulate, build_corpus

from perceptops.paths import Layout


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    return build_corpus(tmp_path / "svi", tmp_path / "outside")


@pytest.fixture
def project(tmp_path: Path) -> Layout:
    root = tmp_path / "proj"
    root.mkdir()
    (root / "params.yaml").write_text("{}\n")
    return Layout(root)


@pytest.fixture
def fake_simulate(monkeypatch) -> FakeSimulate:
    """perceptops.data.simulate replaced by the stand-in (its real module belongs to another engineer)."""
    fake = FakeSimulate()
    mod = types.ModuleType("perceptops.data.simulate")
    mod.synthesize = fake.synthesize
    mod.simulate_panel = fake.simulate_panel
    monkeypatch.setitem(sys.modules, "perceptops.data.simulate", mod)
    return fake
