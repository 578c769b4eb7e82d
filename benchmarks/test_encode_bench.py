"""Embedding-cache benchmarks on a small folder city (drawn street pictures + descriptions).

- encoder forwards per unique item over an ``embed@city`` run repeated twice: exactly 1.0 (asserted);
- cold (empty cache) versus warm (everything cached) embed time, measured side by side; the ratio is
  in extra_info (``cold_over_warm``).
"""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent / "tests" / "encode"), str(HERE.parent / "tests")]

from encode_support import make_city  # noqa: E402

N_IMAGES = 40


@pytest.fixture(autouse=True)
def _no_env_cache(monkeypatch):
    monkeypatch.delenv("PERCEPTOPS_CACHE", raising=False)


@pytest.mark.parametrize("image_kind", ["builtin", "tflite"])
def test_forwards_per_unique_item_and_cold_vs_warm(benchmark, tmp_path, shared, image_kind):
    from perceptops.config import parse_params
    from perceptops.encode.embed import embed_city

    params, layout, ids = make_city(tmp_path, n=N_IMAGES)
    if image_kind == "tflite":
        d = params.model_dump(by_alias=True)
        model = shared / "models" / "coral" / "mobilenet_v1_1.0_224_quant_embedding_extractor.tflite"
        d["encode"]["image"] = {"kind": "tflite", "model": str(model)}
        params = parse_params(d)
    targets = ["general", *params.target_names()]
    unique_texts = {
        str(t)
        for tg in targets
        for t in __import__("pandas").read_parquet(layout.descriptions("town", tg))["text"]
    }
    cache = tmp_path / "cache"

    def cold():
        shutil.rmtree(cache, ignore_errors=True)
        t0 = time.perf_counter()
        s = embed_city(params, layout, "town")
        return time.perf_counter() - t0, s

    cold_times, warm_times = [], []
    forwards = {"image": 0, "text": 0}
    for _ in range(2):
        t, s = cold()
        cold_times.append(t)
        # the same run repeated: everything from the cache
        t0 = time.perf_counter()
        s2 = embed_city(params, layout, "town")
        warm_times.append(time.perf_counter() - t0)
        forwards = {
            "image": s["image_forwards"] + s2["image_forwards"],
            "text": s["text_forwards"] + s2["text_forwards"],
        }
    per_image = forwards["image"] / N_IMAGES
    per_text = forwards["text"] / len(unique_texts)
    assert per_image == 1.0 and per_text == 1.0
    benchmark.pedantic(lambda: embed_city(params, layout, "town"), rounds=3, iterations=1)
    benchmark.extra_info.update(
        {
            "image_encoder": image_kind,
            "forwards_per_unique_image": per_image,
            "forwards_per_unique_text": per_text,
            "cold_s": round(min(cold_times), 3),
            "warm_s": round(min(warm_times), 3),
            "cold_over_warm": round(min(cold_times) / min(warm_times), 2),
        }
    )
    print(
        f"\nembed [{image_kind}]: forwards/unique image {per_image}, text {per_text}; cold {min(cold_times):.2f}s, "
        f"warm {min(warm_times):.2f}s, ratio {min(cold_times) / min(warm_times):.1f}x"
    )
