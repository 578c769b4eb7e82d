"""Score every valid image of a city with each champion, from the embed outs (no encoder forward)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from perceptops.errors import DataError
from perceptops.maps.champions import Champion
from perceptops.paths import Layout

PRED_COLUMNS = ["image_id", "model", "version", "target", "score", "label"]


@dataclass
class ScoreResult:
    predictions: pd.DataFrame  # PRED_COLUMNS, one row per image x model
    skipped: list[str] = field(default_factory=list)  # targets left out, with the reason
    missing: dict[str, int] = field(default_factory=dict)  # per target: valid images without embeddings


def read_embeddings(path: Path) -> tuple[list[str], np.ndarray]:
    """An embed out (``image_id``, ``emb``) as ids + a float32 matrix."""
    if not path.is_file():
        raise DataError(f"{path} not found: run 'dvc repro embed@<city>' first")
    df = pd.read_parquet(path, columns=["image_id", "emb"])
    if df.empty:
        return [], np.zeros((0, 0), dtype=np.float32)
    return df["image_id"].astype(str).tolist(), np.stack(df["emb"].to_numpy()).astype(np.float32, copy=False)


def image_embeddings(layout: Layout, city: str) -> tuple[list[str], np.ndarray]:
    try:
        from perceptops.encode.store import load_image_embeddings
    except ImportError:
        return read_embeddings(layout.embed_dir(city) / "image.parquet")
    return load_image_embeddings(layout, city)


def text_embeddings(layout: Layout, city: str, target: str) -> tuple[list[str], np.ndarray]:
    try:
        from perceptops.encode.store import load_text_embeddings
    except ImportError:
        return read_embeddings(layout.embed_dir(city) / f"text-{target}.parquet")
    return load_text_embeddings(layout, city, target)


def read_encoders(layout: Layout, city: str) -> dict:
    path = layout.embed_dir(city) / "encoders.json"
    if not path.is_file():
        return {}
    from perceptops.utils import read_json

    return read_json(path)


def read_valid_ids(layout: Layout, city: str) -> pd.DataFrame:
    path = layout.valid_manifest(city)
    if not path.is_file():
        raise DataError(
            f"{path} not found: city {city!r} was never validated; run 'dvc repro validate@{city}'"
        )
    return pd.read_parquet(path)


def score_embeddings(
    layout: Layout,
    city: str,
    image_ids: list[str],
    champions: list[Champion],
    threshold: float,
) -> ScoreResult:
    """Score ``image_ids`` with every champion, aligning image and text embeddings by image id."""
    encoders = read_encoders(layout, city)
    ids_i, X_img = image_embeddings(layout, city)
    pos_i = {iid: k for k, iid in enumerate(ids_i)}
    frames: list[pd.DataFrame] = []
    res = ScoreResult(predictions=pd.DataFrame(columns=PRED_COLUMNS))
    for ch in champions:
        txt_path = layout.embed_dir(city) / f"text-{ch.target}.parquet"
        if not txt_path.is_file():
            res.skipped.append(
                f"{ch.target}: no text embeddings {txt_path} (describe/embed did not cover it)"
            )
            continue
        check = getattr(ch.model, "check_encoders", None)
        if check is not None and encoders:  # embeddings of another encoder would give silent nonsense
            check(encoders.get("image", {}).get("id"), encoders.get("text", {}).get("id"))
        ids_t, X_txt = text_embeddings(layout, city, ch.target)
        pos_t = {iid: k for k, iid in enumerate(ids_t)}
        keep = [iid for iid in image_ids if iid in pos_i and iid in pos_t]
        res.missing[ch.target] = len(image_ids) - len(keep)
        if not keep:
            res.skipped.append(f"{ch.target}: none of the {len(image_ids)} valid images has embeddings")
            continue
        xi = X_img[[pos_i[i] for i in keep]]
        xt = X_txt[[pos_t[i] for i in keep]]
        scores = np.asarray(ch.model.score(xi, xt), dtype=np.float64).reshape(-1)
        if scores.shape[0] != len(keep):
            raise DataError(
                f"model {ch.name} v{ch.version} returned {scores.shape[0]} scores for {len(keep)} images"
            )
        frames.append(
            pd.DataFrame(
                {
                    "image_id": keep,
                    "model": ch.name,
                    "version": ch.version,
                    "target": ch.target,
                    "score": scores,
                    "label": (scores >= threshold).astype(np.int64),  # 1 safe, 0 unsafe (evaluate.threshold)
                }
            )
        )
    if frames:
        res.predictions = pd.concat(frames, ignore_index=True)[PRED_COLUMNS]
    return res
