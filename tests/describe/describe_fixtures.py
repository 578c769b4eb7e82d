"""Builders of tiny describe projects (params, prompts, images, valid + scene parquet); used by tests and benchmarks."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np

from perceptops.scene import CITYSCAPES_CLASSES, INDEX_COLUMNS, PHOTOMETRIC_COLUMNS
from support import REPO_ROOT, deep_merge

# The scene.parquet columns the describer reads (the scene package owns the names).
SCENE_COLS = [*PHOTOMETRIC_COLUMNS, *INDEX_COLUMNS]
CLASSES = list(CITYSCAPES_CLASSES)


def scene_row(rng: np.random.Generator) -> dict[str, float]:
    frac = rng.dirichlet(np.ones(len(CLASSES)) * 0.5)
    row = {f"frac_{c}": float(f) for c, f in zip(CLASSES, frac, strict=True)}
    row.update({c: float(rng.uniform(0, 1)) for c in SCENE_COLS})
    row["road_share"], row["sidewalk_share"] = row["frac_road"], row["frac_sidewalk"]
    row["green_view"], row["sky_view"] = row["frac_vegetation"], row["frac_sky"]
    row["car_presence"] = sum(
        row[f"frac_{c}"] for c in ("car", "truck", "bus", "train", "motorcycle", "bicycle")
    )
    row["person_presence"] = row["frac_person"] + row["frac_rider"]
    row["colourfulness"] *= 120.0  # Hasler-Suesstrunk M on the 0-255 scale
    return row


def make_city(
    root: Path,
    n: int = 6,
    city: str = "c",
    size: tuple[int, int] = (64, 48),
    params: dict[str, Any] | None = None,
    seed: int = 0,
) -> Path:
    """Write params.yaml, prompts/, images/, data/<city>/valid/valid.parquet and scene.parquet under ``root``."""
    import pandas as pd
    from PIL import Image
    from ruamel.yaml import YAML

    from perceptops.utils import sha256_file

    root.mkdir(parents=True, exist_ok=True)
    yaml = YAML()
    data = yaml.load((REPO_ROOT / "params.yaml").read_text())
    base = {
        "cities!": {city: {"source": "folder", "path": "images"}},
        "train_city": city,
        "describe": {"validate_outputs": False},
    }
    merged = deep_merge(deep_merge(dict(data), base), params or {})
    with open(root / "params.yaml", "w") as f:
        yaml.dump(merged, f)
    if not (root / "prompts").exists():
        shutil.copytree(REPO_ROOT / "prompts", root / "prompts")
    rng = np.random.default_rng(seed)
    (root / "images").mkdir(exist_ok=True)
    rows, scenes = [], []
    for i in range(n):
        p = root / "images" / f"img{i:04d}.png"
        if size[0] * size[1] <= 1_000_000:
            Image.fromarray(rng.integers(0, 255, size=(size[1], size[0], 3), dtype=np.uint8)).save(p)
        else:  # big test images: noise tiles are too slow to encode; blocks of colour are quick
            small = rng.integers(0, 255, size=(24, 32, 3), dtype=np.uint8)
            Image.fromarray(small).resize(size, Image.NEAREST).save(p, compress_level=1)
        iid = sha256_file(p)
        rows.append(
            {
                "image_id": iid,
                "path": p.name,
                "source_id": p.stem,
                "width": size[0],
                "height": size[1],
                "lat": float("nan"),
                "lon": float("nan"),
                "city": city,
                "source": "folder",
            }
        )
        scenes.append({"image_id": iid, **scene_row(rng), "backend": "pixel"})
    valid = root / "data" / city / "valid"
    valid.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_parquet(valid / "valid.parquet", index=False)
    sc = root / "data" / city / "scene"
    sc.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(scenes).to_parquet(sc / "scene.parquet", index=False)
    return root
