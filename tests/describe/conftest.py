"""Fixtures of the describe tests."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

# pytest runs with --import-mode=importlib: put this folder's helper modules (describe_fixtures,
# fake_openai, tiny_vlm) on the path for the test modules here and for benchmarks/test_describe_bench.py.
sys.path.insert(0, str(Path(__file__).resolve().parent))

from describe_fixtures import make_city  # noqa: E402


@pytest.fixture
def city_factory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("PERCEPTOPS_PROJECT", str(tmp_path / "proj"))
    monkeypatch.delenv("PERCEPTOPS_CACHE", raising=False)

    count = iter(range(1000))

    def make(**kw: Any) -> Path:
        """A fresh project folder (own cache) per call."""
        root = tmp_path / f"proj{next(count)}"
        monkeypatch.setenv("PERCEPTOPS_PROJECT", str(root))
        return make_city(root, **kw)

    return make


@pytest.fixture
def fake_server():
    from fake_openai import FakeOpenAI

    servers = []

    def start(policy=None, latency_s: float = 0.0) -> FakeOpenAI:
        s = FakeOpenAI(policy=policy, latency_s=latency_s).start()
        servers.append(s)
        return s

    yield start
    for s in servers:
        s.stop()
