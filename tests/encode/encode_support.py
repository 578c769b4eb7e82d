"""Helpers for the encoder tests: drawn pictures, params, a small city with descriptions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from PIL import Image

from perceptops.config import load_params, parse_params
from perceptops.paths import Layout
from perceptops.utils import sha256_file
from support import REPO_ROOT

WORDS = [
    "a",
    "the",
    "road",
    "busy",
    "quiet",
    "car",
    "cars",
    "green",
    "trees",
    "park",
    "dark",
    "night",
    "street",
    "light",
    "people",
    "safe",
    "unsafe",
    "walk",
]


def picture(seed: int, w: int = 96, h: int = 72) -> Image.Image:
    """A street-like picture: sky band, grey road, a coloured block placed by the seed."""
    rng = np.random.default_rng(seed)
    a = np.zeros((h, w, 3), np.uint8)
    a[: h // 2] = (110, 160, 230) if seed % 2 == 0 else (15, 15, 25)
    a[h // 2 :] = (80, 80, 85)
    x, y = rng.integers(0, w - 20), rng.integers(h // 2, h - 10)
    a[y : y + 10, x : x + 20] = rng.integers(0, 256, 3)
    if seed % 3 == 0:
        a[: int(0.7 * h), : w // 4] = (40, 140, 50)
    return Image.fromarray(a)


def bytes_to_unicode() -> dict[int, str]:
    """GPT-2/CLIP byte-level symbols (the standard table): printable bytes map to themselves."""
    bs = (
        list(range(ord("!"), ord("~") + 1))
        + list(range(ord("¡"), ord("¬") + 1))
        + list(range(ord("®"), ord("ÿ") + 1))
    )
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, (chr(c) for c in cs), strict=True))


def params_with(**encode: Any):
    d = load_params(REPO_ROOT / "params.yaml").model_dump(by_alias=True)
    for branch, cfg in encode.items():
        d["encode"][branch] = {**d["encode"][branch], **cfg}
    return parse_params(d)


def make_city(root: Path, n: int = 5, targets: list[str] | None = None, texts: dict | None = None):
    """A folder city with ``n`` PNGs, valid.parquet, and descriptions for general + every target."""
    d = load_params(REPO_ROOT / "params.yaml").model_dump(by_alias=True)
    imgs = root / "photos"
    imgs.mkdir(parents=True, exist_ok=True)
    d["cities"]["town"] = {"source": "folder", "path": str(imgs)}
    d["project"]["cache_dir"] = str(root / "cache")
    params = parse_params(d)
    layout = Layout(root)
    rows = []
    for i in range(n):
        p = imgs / f"im{i}.png"
        picture(i).save(p)
        rows.append({"image_id": sha256_file(p), "path": p.name})
    layout.valid_dir("town").mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_parquet(layout.valid_manifest("town"), index=False)
    ids = [r["image_id"] for r in rows]
    for t in ["general", *params.target_names()]:
        tx = (texts or {}).get(t) or [f"{t} view {i % 3}: a busy road with cars and trees" for i in range(n)]
        layout.descriptions_dir("town").mkdir(parents=True, exist_ok=True)
        pd.DataFrame({"image_id": ids, "text": tx}).to_parquet(layout.descriptions("town", t), index=False)
    return params, layout, ids
