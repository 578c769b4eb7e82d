"""A small generated city (valid manifest + embed outs) and small real (untrained) champion models."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import torch

from perceptops.config import load_params, parse_params, read_yaml
from perceptops.maps.champions import Champion
from perceptops.model.io import SafetyModel, load_model, save_model
from perceptops.model.net import build_from_config
from perceptops.paths import Layout
from perceptops.utils import write_json, write_parquet
from support import REPO_ROOT

DIM_I, DIM_T = 12, 8


CONFIG = {
    "adapter_dim": 8,
    "dropout": 0.1,
    "fusion": "concat",
    "variant": "fusion",
    "encoders": {"image": {"id": "test-img", "dim": DIM_I}, "text": {"id": "test-txt", "dim": DIM_T}},
}


def make_model(target: str, seed: int) -> SafetyModel:
    """A real (untrained, seeded) SafetyModel of perceptops.model with the test encoders' widths."""
    torch.manual_seed(seed)
    return SafetyModel(build_from_config(CONFIG), dict(CONFIG, target=target))


def save_model_dir(path: Path, model: SafetyModel) -> Path:
    save_model(path, model.net, model.config)
    return path


def load_model_dir(path: Path) -> SafetyModel:
    return load_model(path)


def make_city(root: Path, city: str, n: int, seed: int = 0, no_coords: int = 0, targets=None) -> list[str]:
    """valid.parquet + embed outs for ``n`` images around Stockholm; the first ``no_coords`` lack lat/lon."""
    rng = np.random.default_rng(seed)
    lay = Layout(root)
    ids = [f"{seed:02d}{i:062x}" for i in range(n)]
    lat = 59.33 + rng.uniform(-0.02, 0.02, n)
    lon = 18.07 + rng.uniform(-0.04, 0.04, n)
    lat[:no_coords] = np.nan
    lon[:no_coords] = np.nan
    valid = pd.DataFrame(
        {"image_id": ids, "path": [f"images/{i}.png" for i in range(n)], "source_id": [f"s{i}" for i in range(n)],
         "width": 320, "height": 240, "lat": lat, "lon": lon, "heading": np.nan, "captured_at": None,
         "city": city, "source": "synthetic", "phash": "0" * 16, "near_duplicate_of": None, "orig_mode": "RGB"}
    )  # fmt: skip
    write_parquet(valid, lay.valid_manifest(city))
    emb = lay.embed_dir(city)
    write_parquet(
        pd.DataFrame({"image_id": ids, "emb": list(rng.normal(0, 1, (n, DIM_I)).astype(np.float32))}),
        emb / "image.parquet",
    )
    for t in targets if targets is not None else ALL_TARGETS:
        write_parquet(
            pd.DataFrame(
                {
                    "image_id": ids,
                    "text_sha256": "0" * 64,
                    "emb": list(rng.normal(0, 1, (n, DIM_T)).astype(np.float32)),
                }
            ),
            emb / f"text-{t}.parquet",
        )
    write_json(
        emb / "encoders.json",
        {"image": {"id": "test-img", "dim": DIM_I}, "text": {"id": "test-txt", "dim": DIM_T}},
    )
    return ids


PARAMS = load_params(REPO_ROOT / "params.yaml")
ALL_TARGETS = ["general", *PARAMS.target_names()]
# most tests need only a few models (each map is a PNG to draw): two groups x one scenario
_small = read_yaml(REPO_ROOT / "params.yaml")
_small["groups"] = {g: _small["groups"][g] for g in ("women", "men")}
_small["scenarios"] = {"crime": _small["scenarios"]["crime"]}
SMALL = parse_params(_small)
SMALL_TARGETS = ["general", *SMALL.target_names()]


def champions_for(targets: list[str]) -> list[Champion]:
    return [
        Champion(t, f"safety-{t}", str(k + 1), make_model(t, k), run_id=f"run{k}")
        for k, t in enumerate(targets)
    ]
