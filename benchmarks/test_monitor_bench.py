"""Drift report cost at 5,000 vs 5,000 images of precomputed features; feature extraction reuses the outs.

Run: .venv/bin/pytest benchmarks/test_monitor_bench.py --benchmark-only -p no:randomly
- ``test_drift_report_5000``: ``drift_city`` (features read + Evidently DataDriftPreset on ~50 columns +
  EmbeddingsDrift on 178-d image embeddings + HTML/JSON written), one round (it takes tens of seconds).
- ``test_feature_extraction_5000``: assembling the features of a 5,000-image city from the scene,
  description, prediction and embedding outs; the scene parser and the encoders are replaced by
  counters, and ``extra_info["recomputed"]`` (must be 0) counts their calls.
"""

from __future__ import annotations

import sys

import pytest

from support import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "tests" / "monitor"))
from monitor_support import PARAMS, make_drift_city  # noqa: E402

from perceptops.monitor.features import city_features  # noqa: E402
from perceptops.monitor.run import drift_city  # noqa: E402
from perceptops.monitor.settings import DriftSettings  # noqa: E402
from perceptops.paths import Layout  # noqa: E402

N = 5000
EMB_DIM = 178  # the builtin image encoder's width


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    root = tmp_path_factory.mktemp("drift_bench")
    (root / "params.yaml").write_text((REPO_ROOT / "params.yaml").read_text())
    make_drift_city(root, "demo", N, seed=1, emb_dim=EMB_DIM)
    make_drift_city(root, "demo-night", N, seed=2, light=-0.2, emb_dim=EMB_DIM)
    import evidently  # noqa: F401  (4-5 s of imports kept out of the timing)

    return root


def test_drift_report_5000(benchmark, project):
    s = benchmark.pedantic(
        lambda: drift_city(PARAMS, project, "demo-night", settings=DriftSettings(), echo=lambda m: None),
        rounds=1, iterations=1, warmup_rounds=0,
    )  # fmt: skip
    assert s["n_reference"] == N and s["n_current"] == N and s["verdict"] == "drifted"
    benchmark.extra_info.update(n_features=s["n_features"], drift_share=s["drift_share"])


def test_feature_extraction_5000(benchmark, project, monkeypatch):
    import perceptops.encode as enc
    import perceptops.scene as scene

    calls = {"n": 0}

    def counter(*a, **k):
        calls["n"] += 1
        raise AssertionError("feature extraction must not recompute scene parses or embeddings")

    for mod, name in ((scene, "parse_images"), (enc, "get_image_encoder"), (enc, "get_text_encoder")):
        monkeypatch.setattr(mod, name, counter)
    cf = benchmark.pedantic(
        lambda: city_features(PARAMS, Layout(project), "demo-night", DriftSettings()),
        rounds=3, iterations=1, warmup_rounds=1,
    )  # fmt: skip
    assert len(cf.table) == N and calls["n"] == 0
    benchmark.extra_info["recomputed"] = calls["n"]
    benchmark.extra_info["per_image_us"] = 1e6 * benchmark.stats.stats.median / N
