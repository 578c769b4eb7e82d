"""Per-image drift features of a city, read from the pipeline's outs only (zero recomputation).

Scene parse and photometric stats come from ``data/<c>/scene/scene.parquet``, description descriptors
from ``descriptions/<c>/<t>.parquet``, predicted scores from ``maps/<c>/predictions.parquet`` and image
embeddings from ``data/<c>/embed/image.parquet``: no image is decoded, parsed or encoded here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from perceptops.config import Params
from perceptops.errors import DataError
from perceptops.monitor.settings import DriftSettings
from perceptops.paths import Layout


@dataclass
class CityFeatures:
    city: str
    table: pd.DataFrame  # index: image_id; one column per feature
    groups: dict[str, str]  # feature column -> group (scene, photometric, descriptions, scores)
    factor_lists: pd.Series | None = None  # image_id -> factors named in the general description
    embeddings: np.ndarray | None = None  # rows aligned with ``table``; NaN rows where an image has none
    reads: dict[str, dict[str, Any]] = field(default_factory=dict)  # out file -> rows read
    missing: dict[str, str] = field(default_factory=dict)  # group -> why it is absent for this city

    def subset(self, ids: pd.Index) -> CityFeatures:
        pos = self.table.index.get_indexer(ids)
        return CityFeatures(
            self.city,
            self.table.iloc[pos],
            self.groups,
            None if self.factor_lists is None else self.factor_lists.reindex(ids),
            None if self.embeddings is None else self.embeddings[pos],
            self.reads,
            self.missing,
        )


def scene_groups() -> dict[str, str]:
    from perceptops.scene import FRACTION_COLUMNS, INDEX_COLUMNS, PHOTOMETRIC_COLUMNS

    return {
        **{c: "scene" for c in (*FRACTION_COLUMNS, *INDEX_COLUMNS)},
        **{c: "photometric" for c in PHOTOMETRIC_COLUMNS},
    }


def read_valid(layout: Layout, city: str, role: str = "city") -> pd.DataFrame:
    path = layout.valid_manifest(city)
    if not path.is_file():
        raise DataError(
            f"{role} {city!r} was never ingested and validated ({path} is missing): "
            f"run 'dvc repro validate@{city}' first"
        )
    return pd.read_parquet(path, columns=["image_id"])


def _read(path: Path, reads: dict[str, dict[str, Any]], columns: list[str] | None = None) -> pd.DataFrame:
    df = pd.read_parquet(path, columns=columns)
    reads[str(path)] = {"rows": len(df)}
    return df


def city_features(
    params: Params, layout: Layout, city: str, settings: DriftSettings, role: str = "city"
) -> CityFeatures:
    """Assemble the feature table of ``city`` (one row per valid image) from the outs on disk."""
    valid = read_valid(layout, city, role)
    ids = pd.Index(valid["image_id"].astype(str).unique(), name="image_id")
    table = pd.DataFrame(index=ids)
    groups: dict[str, str] = {}
    reads: dict[str, dict[str, Any]] = {}
    missing: dict[str, str] = {}
    on = settings.groups

    if on.scene or on.photometric:
        path = layout.scene(city)
        if path.is_file():
            scene = _read(path, reads).assign(image_id=lambda d: d["image_id"].astype(str))
            scene = scene.drop_duplicates("image_id").set_index("image_id").reindex(ids)
            for col, grp in scene_groups().items():
                if getattr(on, grp) and col in scene.columns:
                    table[col] = pd.to_numeric(scene[col], errors="coerce")
                    groups[col] = grp
        else:
            for grp in ("scene", "photometric"):
                if getattr(on, grp):
                    missing[grp] = f"{path} not found"

    factor_lists = None
    if on.descriptions:
        found = 0
        for t in ["general", *params.target_names()]:
            path = layout.descriptions(city, t)
            if not path.is_file():
                continue
            found += 1
            d = _read(path, reads, ["image_id", "text", "rating", "factors"])
            d = d.assign(image_id=d["image_id"].astype(str)).drop_duplicates("image_id").set_index("image_id")
            d = d.reindex(ids)
            table[f"desc_words_{t}"] = d["text"].map(
                lambda s: len(s.split()) if isinstance(s, str) else np.nan
            )
            table[f"rating_{t}"] = pd.to_numeric(d["rating"], errors="coerce")
            table[f"n_factors_{t}"] = d["factors"].map(_n_factors)
            groups.update({f"desc_words_{t}": "descriptions", f"rating_{t}": "descriptions"})
            groups[f"n_factors_{t}"] = "descriptions"
            if t == "general":
                factor_lists = d["factors"].map(lambda x: None if _isna(x) else _factor_list(x))
        if not found:
            missing["descriptions"] = f"no description files in {layout.descriptions_dir(city)}"

    if on.scores:
        path = layout.predictions(city)
        if path.is_file():
            p = _read(path, reads, ["image_id", "target", "score"])
            wide = p.assign(image_id=p["image_id"].astype(str)).pivot_table(
                index="image_id", columns="target", values="score", aggfunc="first"
            )
            for t in wide.columns:
                table[f"score_{t}"] = wide[t].reindex(ids).astype(float)
                groups[f"score_{t}"] = "scores"
        else:
            missing["scores"] = f"{path} not found (run 'perceptops score --city {city}')"

    emb = None
    if on.embeddings:
        path = layout.embed_dir(city) / "image.parquet"
        if path.is_file():
            e = _read(path, reads, ["image_id", "emb"])
            if len(e):
                X = np.stack(e["emb"].to_numpy()).astype(np.float64)
                pos = pd.Index(e["image_id"].astype(str)).get_indexer(ids)
                emb = np.full((len(ids), X.shape[1]), np.nan)
                emb[pos >= 0] = X[pos[pos >= 0]]
        else:
            missing["embeddings"] = f"{path} not found"
    return CityFeatures(city, table, groups, factor_lists, emb, reads, missing)


def _isna(x: Any) -> bool:
    return x is None or (isinstance(x, float) and np.isnan(x))


def _factor_list(x: Any) -> list[str]:
    if _isna(x):
        return []
    return [str(f).strip().lower() for f in list(x) if str(f).strip()]


def _n_factors(x: Any) -> float:
    if _isna(x):
        return np.nan
    return float(len(list(x)))


def factor_columns(ref: CityFeatures, top: int) -> list[str]:
    """The ``top`` factors most often named in the reference's general descriptions."""
    if ref.factor_lists is None or top == 0:
        return []
    counts = pd.Series([f for fl in ref.factor_lists.dropna() for f in fl], dtype=object).value_counts()
    return sorted(counts.index[:top], key=lambda f: (-counts[f], f))


def add_factor_flags(cf: CityFeatures, factors: list[str]) -> dict[str, str]:
    """0/1 columns ``factor_<name>``: whether the general description names the factor."""
    cols: dict[str, str] = {}
    if cf.factor_lists is None:
        return cols
    has = cf.factor_lists.notna()
    for f in factors:
        col = "factor_" + "_".join(f.split())
        cf.table[col] = [
            (float(f in fl) if ok else np.nan) for fl, ok in zip(cf.factor_lists, has, strict=True)
        ]
        cols[col] = "descriptions"
    return cols
