"""The manifest and valid-image tables: column order, typed reads, and readers other concerns call."""

from __future__ import annotations

from typing import TYPE_CHECKING

from perceptops.errors import DataError
from perceptops.paths import Layout

if TYPE_CHECKING:
    import pandas as pd

MANIFEST_COLUMNS = [
    "image_id",
    "path",
    "source_id",
    "width",
    "height",
    "lat",
    "lon",
    "heading",
    "captured_at",
    "city",
    "source",
]
VALID_COLUMNS = [*MANIFEST_COLUMNS, "phash", "near_duplicate_of", "orig_mode"]
QUARANTINE_COLUMNS = ["path", "image_id", "reason", "detail"]


def typed_manifest(df: pd.DataFrame) -> pd.DataFrame:
    """Fixed column order and dtypes, so identical inputs give identical parquet bytes."""
    import pandas as pd

    df = df.copy()
    for c in ("width", "height"):
        df[c] = pd.to_numeric(df[c]).fillna(0).astype("int64")
    for c in ("lat", "lon", "heading"):
        df[c] = pd.to_numeric(df[c], errors="coerce").astype("float64")
    for c in ("image_id", "path", "source_id", "city", "source"):
        df[c] = df[c].astype(str)
    df["captured_at"] = df["captured_at"].astype(object).where(df["captured_at"].notna(), None)
    return df[MANIFEST_COLUMNS].reset_index(drop=True)


def _read(path, what: str, stage: str) -> pd.DataFrame:
    import pandas as pd

    if not path.is_file():
        raise DataError(f"{path} not found: run `dvc repro {stage}` (or `perceptops {what}`) first")
    return pd.read_parquet(path)


def read_manifest(layout: Layout, city: str) -> pd.DataFrame:
    return _read(layout.manifest(city), f"ingest --city {city}", f"ingest@{city}")


def read_valid(layout: Layout, city: str) -> pd.DataFrame:
    """Images that passed validation (manifest columns + phash, near_duplicate_of, orig_mode)."""
    return _read(layout.valid_manifest(city), f"validate --city {city}", f"validate@{city}")
