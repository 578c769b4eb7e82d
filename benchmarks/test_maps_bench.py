"""City scoring: warm caches (the embed outs) vs cold (encoders run), and cost vs city size.

Run: .venv/bin/pytest benchmarks/test_maps_bench.py --benchmark-only -p no:randomly
- cold vs warm: the same N real Place Pulse 1.0 photos and nine models (general + 4 groups x 2
  scenarios), scored end to end by perceptops.model.inference.Scorer (builtin encoders run on the
  pixels and the descriptions) and from the embed outs by perceptops.maps.scoring (no encoder forward).
  extra_info of the warm benchmark holds ``cold_over_warm`` (the ratio, measured in the same run).
- linear: scoring from the embed outs at two city sizes (extra_info ``ratio_2x``; linear means about 2),
  and the whole ``score_city`` (predictions + 17 maps + GeoJSON + page) at two sizes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from perceptops.config import load_params
from perceptops.maps.build import score_city
from perceptops.maps.champions import Champion
from perceptops.maps.scoring import score_embeddings
from perceptops.paths import Layout
from perceptops.utils import write_parquet
from support import REPO_ROOT

N = 60
SIZES = (1000, 2000)
RESULTS: dict[str, float] = {}
TEXT = (
    "A two-lane street with parked cars on both sides, narrow sidewalks and a few trees. The facades are "
    "close to the road and some windows face the street; lighting looks adequate and people are walking."
)


def _models(params, image_enc, text_enc) -> dict:
    import torch

    from perceptops.model.io import SafetyModel
    from perceptops.model.net import build_from_config

    cfg = {
        "adapter_dim": params.net.adapter_dim, "dropout": params.net.dropout, "fusion": params.net.fusion,
        "variant": params.net.variant,
        "encoders": {"image": {"id": image_enc.id, "dim": image_enc.dim}, "text": {"id": text_enc.id, "dim": text_enc.dim}},
    }  # fmt: skip
    out = {}
    for k, t in enumerate(["general", *params.target_names()]):
        torch.manual_seed(k)
        out[t] = SafetyModel(build_from_config(cfg), cfg)
    return out


def _write_city(
    root: Path, city: str, ids: list[str], Xi: np.ndarray, texts: dict[str, np.ndarray], ie, te
) -> None:
    from perceptops.encode import store

    lay = Layout(root)
    rng = np.random.default_rng(0)
    n = len(ids)
    write_parquet(
        pd.DataFrame({"image_id": ids, "source_id": [str(i) for i in range(n)],
                      "lat": 42.35 + rng.uniform(0, 0.05, n), "lon": -71.1 + rng.uniform(0, 0.08, n)}),
        lay.valid_manifest(city),
    )  # fmt: skip
    store.write_encoders(lay, city, ie, te)
    store.write_image_embeddings(lay, city, ids, Xi)
    for t, Xt in texts.items():
        store.write_text_embeddings(lay, city, t, ids, ["0" * 64] * n, Xt)


@pytest.fixture(scope="module")
def setup(shared, tmp_path_factory):
    from perceptops.encode import get_image_encoder, get_text_encoder

    params = load_params(REPO_ROOT / "params.yaml")
    root = tmp_path_factory.mktemp("maps_bench")
    (root / "params.yaml").write_text((REPO_ROOT / "params.yaml").read_text())
    files = sorted((shared / "data" / "placepulse1" / "images").glob("*.jpg"))[:N]
    images = [Image.open(f).convert("RGB") for f in files]
    ie, te = get_image_encoder(params), get_text_encoder(params)
    models = _models(params, ie, te)
    texts = {t: [f"{TEXT} ({t}, image {i})" for i in range(N)] for t in models}
    ids = [f"{i:064x}" for i in range(N)]
    _write_city(root, "demo", ids, ie.encode(images), {t: te.encode(texts[t]) for t in models}, ie, te)
    champions = [Champion(t, f"safety-{t}", "1", m) for t, m in models.items()]
    return params, root, images, texts, ie, te, models, champions, ids


def test_score_cold_encoders(benchmark, setup):
    from perceptops.model.inference import Scorer

    params, root, images, texts, ie, te, models, *_ = setup

    def cold():
        return Scorer(params, models, ie, te).score(images, texts)

    out = benchmark.pedantic(cold, rounds=3, iterations=1, warmup_rounds=1)
    assert len(out) == 9 and all(len(v) == N for v in out.values())
    RESULTS["cold"] = benchmark.stats.stats.median
    benchmark.extra_info["per_image_ms"] = 1000 * RESULTS["cold"] / N


def test_score_warm_embed_outs(benchmark, setup):
    params, root, *_, champions, ids = setup

    def warm():
        return score_embeddings(Layout(root), "demo", ids, champions, params.evaluate.threshold)

    res = benchmark.pedantic(warm, rounds=5, iterations=1, warmup_rounds=1)
    assert len(res.predictions) == 9 * N
    RESULTS["warm"] = benchmark.stats.stats.median
    benchmark.extra_info["per_image_ms"] = 1000 * RESULTS["warm"] / N
    if "cold" in RESULTS:
        benchmark.extra_info["cold_over_warm"] = RESULTS["cold"] / RESULTS["warm"]


@pytest.fixture(scope="module")
def sized(setup, tmp_path_factory):
    params, _, _, _, ie, te, models, champions, _ = setup
    rng = np.random.default_rng(1)
    roots = {}
    for n in SIZES:
        root = tmp_path_factory.mktemp(f"maps_{n}")
        (root / "params.yaml").write_text((REPO_ROOT / "params.yaml").read_text())
        ids = [f"{i:064x}" for i in range(n)]
        Xi = rng.normal(0, 1, (n, ie.dim)).astype(np.float32)
        _write_city(
            root,
            "demo",
            ids,
            Xi,
            {t: rng.normal(0, 1, (n, te.dim)).astype(np.float32) for t in models},
            ie,
            te,
        )
        roots[n] = (root, ids)
    return params, champions, roots


@pytest.mark.parametrize("n", SIZES)
def test_scoring_cost_vs_size(benchmark, sized, n):
    params, champions, roots = sized
    root, ids = roots[n]
    benchmark.pedantic(
        lambda: score_embeddings(Layout(root), "demo", ids, champions, params.evaluate.threshold),
        rounds=5, iterations=1, warmup_rounds=1,
    )  # fmt: skip
    RESULTS[f"score_{n}"] = benchmark.stats.stats.median
    benchmark.extra_info["per_image_ms"] = 1000 * RESULTS[f"score_{n}"] / n
    if n == SIZES[1]:
        benchmark.extra_info["ratio_2x"] = RESULTS[f"score_{n}"] / RESULTS[f"score_{SIZES[0]}"]


@pytest.mark.parametrize("n", SIZES)
def test_score_city_cost_vs_size(benchmark, sized, n):
    params, champions, roots = sized
    root, _ = roots[n]
    benchmark.pedantic(
        lambda: score_city(params, root, "demo", champions=champions, echo=lambda m: None),
        rounds=2, iterations=1, warmup_rounds=0,
    )  # fmt: skip
    RESULTS[f"city_{n}"] = benchmark.stats.stats.median
    if n == SIZES[1]:
        benchmark.extra_info["ratio_2x"] = RESULTS[f"city_{n}"] / RESULTS[f"city_{SIZES[0]}"]
