"""Generated cities with the outs drift reads: valid, scene, descriptions, predictions, image embeddings.

Latent per image: ``light`` (0 dark .. 1 bright) and ``traffic`` (car share). A night city lowers light
(and with it the photometric stats, ratings, scores, the 'darkness' factor); a traffic city raises cars.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from perceptops.config import parse_params, read_yaml
from perceptops.paths import Layout
from perceptops.scene import CITYSCAPES_CLASSES
from perceptops.utils import write_parquet
from support import REPO_ROOT

_p = read_yaml(REPO_ROOT / "params.yaml")
_p["groups"] = {g: _p["groups"][g] for g in ("women", "men")}
_p["scenarios"] = {"crime": _p["scenarios"]["crime"]}
_p["cities"]["demo-traffic"] = {"source": "synthetic", "synthetic": {"style": "traffic"}}
PARAMS = parse_params(_p)
TARGETS = ["general", *PARAMS.target_names()]
FACTORS = ["darkness", "heavy traffic", "good lighting", "greenery", "people around", "wide road", "litter"]
BASE = np.array([30, 12, 25, 2, 2, 2, 1, 1, 14, 3, 18, 2, 1, 6, 1, 1, 0.3, 0.5, 0.5], float)


def make_drift_city(
    root: Path, city: str, n: int, seed: int = 0, light: float = 0.0, traffic: float = 1.0, emb_dim: int = 16
) -> list[str]:
    rng = np.random.default_rng(seed)
    lay = Layout(root)
    ids = [f"{city[:4]}{seed:04d}{i:056x}" for i in range(n)]
    lit = np.clip(rng.beta(5, 3, n) + light, 0.02, 1)
    alpha = BASE.copy()
    alpha[CITYSCAPES_CLASSES.index("car")] *= traffic
    fr = rng.dirichlet(alpha, size=n)
    scene = pd.DataFrame({"image_id": ids})
    for k, c in enumerate(CITYSCAPES_CLASSES):
        scene[f"frac_{c}"] = fr[:, k]
    noise = lambda s: rng.normal(0, s, n)  # noqa: E731
    scene["brightness"] = lit
    scene["contrast"] = 0.15 + 0.25 * lit + noise(0.03)
    scene["colourfulness"] = 0.1 + 0.4 * lit + noise(0.05)
    scene["saturation"] = 0.2 + 0.3 * lit + noise(0.05)
    scene["sharpness"] = 0.3 + 0.4 * lit + noise(0.08)
    scene["edge_density"] = 0.05 + 0.1 * lit + noise(0.02)
    scene["entropy"] = 5 + 2 * lit + noise(0.3)
    scene["green_view"] = scene["frac_vegetation"] + scene["frac_terrain"]
    scene["sky_view"] = scene["frac_sky"]
    scene["road_share"] = scene["frac_road"]
    scene["sidewalk_share"] = scene["frac_sidewalk"]
    scene["car_presence"] = (scene["frac_car"] > 0.05).astype(float)
    scene["person_presence"] = (scene["frac_person"] > 0.02).astype(float)
    scene["backend"] = "pixel"
    valid = pd.DataFrame(
        {"image_id": ids, "path": [f"{i}.png" for i in range(n)], "source_id": [str(i) for i in range(n)],
         "width": 320, "height": 240, "lat": 59.3 + rng.uniform(0, 0.02, n), "lon": 18.0 + rng.uniform(0, 0.04, n)}
    )  # fmt: skip
    write_parquet(valid, lay.valid_manifest(city))
    write_parquet(scene, lay.scene(city))
    car = scene["frac_car"].to_numpy()
    safe = 2.5 * lit - 8 * car
    preds = []
    for k, t in enumerate(TARGETS):
        rating = np.clip(np.round(2 + 7 * lit - 20 * car - 0.5 * k + noise(0.8)), 1, 10)
        factors = []
        for i in range(n):
            f = []
            if lit[i] < 0.45:
                f.append("darkness")
            elif rng.random() < 0.6:
                f.append("good lighting")
            if car[i] > 0.07:
                f.append("heavy traffic")
            f += list(rng.choice(FACTORS[3:], size=rng.integers(0, 3), replace=False))
            factors.append(f)
        words = rng.integers(35, 70, n)
        desc = pd.DataFrame(
            {"image_id": ids, "text": [" ".join(["word"] * w) for w in words], "rating": rating.astype(int),
             "factors": factors, "backend": "scene", "model": "builtin", "prompt_hash": "0" * 64, "created": "2026-01-01"}
        )  # fmt: skip
        write_parquet(desc, lay.descriptions(city, t))
        score = 10 / (1 + np.exp(-(safe - 1.2 - 0.3 * k + noise(0.4))))
        preds.append(
            pd.DataFrame({"image_id": ids, "model": f"safety-{t}", "version": "1", "target": t, "score": score,
                          "label": (score >= 5).astype(int)})
        )  # fmt: skip
    write_parquet(pd.concat(preds, ignore_index=True), lay.predictions(city))
    W = np.random.default_rng(99).normal(0, 1, (3, emb_dim))  # the same "encoder" for every city
    Z = np.stack([lit, car * 5, rng.normal(0, 1, n)], axis=1).reshape(n, 3) @ W + rng.normal(
        0, 0.5, (n, emb_dim)
    )
    write_parquet(
        pd.DataFrame({"image_id": ids, "emb": list(Z.astype(np.float32))}),
        lay.embed_dir(city) / "image.parquet",
    )
    return ids
