"""Helpers for the model tests: small generated embedding outs (the embed stage's format) and survey Q-scores for model tests.

Each image has a latent general safety z and, per group x scenario, a group perception z_g. The
image embedding carries z (noisily); a description embedding carries the perception of whoever it
describes for (z for the general description, z_g for a group's), as a describer would.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from perceptops.config import parse_params
from perceptops.paths import Layout
from perceptops.utils import write_json, write_parquet

IMG_DIM, TXT_DIM = 16, 12


def small_params(**update) -> object:
    data = {
        "project": {"seed": 3},
        "train_city": "demo",
        "cities": {"demo": {"source": "synthetic"}},
        "groups": {"women": {"persona": "a woman"}, "men": {"persona": "a man"}},
        "scenarios": {"crime": {"risk": "crime"}},
        "labels": {"k_sd": 0.3},
        "net": {"adapter_dim": 16, "dropout": 0.1},
        "train": {"max_epochs": 40, "patience": 4, "batch_size": 32, "lr": 0.003},
        "finetune": {
            "mc_passes": 5,
            "top_k": 10,
            "rounds": 4,
            "max_labelled_fraction": 0.5,
            "max_epochs": 25,
            "patience": 5,
            "lr": 0.002,
        },
        "evaluate": {"min_images": 10},
    }
    for k, v in update.items():
        data[k] = {**data.get(k, {}), **v} if isinstance(v, dict) else v
    return parse_params(data)


def image_id(k: int) -> str:
    return f"{k:064x}"[::-1]  # hex like a sha256, and not in creation order


def write_city(
    root: Path,
    n: int = 160,
    seed: int = 0,
    perceptions: dict[str, float] | None = None,
    image_noise: float = 1.0,
    text_noise: float = 0.3,
    encoders: dict | None = None,
) -> dict:
    """Write data/demo/embed/* and data/demo/survey/qscores.parquet; returns the latents by target.

    ``perceptions`` maps a target to how its group's perception relates to the general one:
    z_g = c * z + sqrt(1 - c^2) * (independent factor); c = 1 is "same as everyone".
    """
    perceptions = perceptions or {"women-crime": -0.2, "men-crime": 0.95}
    rng = np.random.default_rng(seed)
    layout = Layout(root)
    ids = [image_id(k) for k in range(n)]
    z = rng.normal(size=n)
    u_img, u_txt = rng.normal(size=IMG_DIM), rng.normal(size=TXT_DIM)
    latents = {"general": z}
    for t, c in perceptions.items():
        latents[t] = c * z + np.sqrt(max(0.0, 1 - c * c)) * rng.normal(size=n)
    emb_dir = layout.embed_dir("demo")
    Xi = (np.outer(z, u_img) + image_noise * rng.normal(size=(n, IMG_DIM))).astype(np.float32)
    write_parquet(pd.DataFrame({"image_id": ids, "emb": list(Xi)}), emb_dir / "image.parquet")
    for t, zt in latents.items():
        Xt = (np.outer(zt, u_txt) + text_noise * rng.normal(size=(n, TXT_DIM))).astype(np.float32)
        write_parquet(
            pd.DataFrame({"image_id": ids, "text_sha256": [f"{t}{i}" for i in ids], "emb": list(Xt)}),
            emb_dir / f"text-{t}.parquet",
        )
    write_json(
        emb_dir / "encoders.json",
        encoders
        or {
            "image": {"id": "builtin-pixels-v1", "dim": IMG_DIM},
            "text": {"id": "builtin-hash-v1", "dim": TXT_DIM},
        },
    )
    rows = []
    for t, zt in latents.items():
        group, scenario = ("all", "general") if t == "general" else t.rsplit("-", 1)
        q = np.clip(5 + 2 * zt, 0, 10)
        rows.append(
            pd.DataFrame(
                {
                    "image_id": ids,
                    "group": group,
                    "scenario": scenario,
                    "q": q,
                    "wins": 3,
                    "losses": 3,
                    "ties": 0,
                    "n": 6,
                }
            )
        )
    write_parquet(pd.concat(rows, ignore_index=True), layout.qscores("demo"))
    return {"ids": ids, "latents": latents}


def copy_project(src: Layout, dest: Path) -> Layout:
    import shutil

    shutil.copytree(src.root, dest, dirs_exist_ok=True)
    return Layout(dest)
