"""Reading and writing the embed outs (``data/<c>/embed/``): image.parquet, text-<t>.parquet,
encoders.json. Readers refuse NaN/inf values and rows whose width differs from encoders.json."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from perceptops.errors import DataError
from perceptops.utils import atomic_path, read_json, write_json


def image_path(layout: Any, city: str) -> Path:
    return layout.embed_dir(city) / "image.parquet"


def text_path(layout: Any, city: str, target: str) -> Path:
    return layout.embed_dir(city) / f"text-{target}.parquet"


def encoders_path(layout: Any, city: str) -> Path:
    return layout.embed_dir(city) / "encoders.json"


def _write(path: Path, columns: dict[str, list], X: np.ndarray) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    X = np.ascontiguousarray(X, dtype=np.float32)
    n, dim = X.shape
    emb = pa.ListArray.from_arrays(
        pa.array(np.arange(0, (n + 1) * dim, dim, dtype=np.int32)), pa.array(X.ravel())
    )
    arrays = [pa.array(v, type=pa.string()) for v in columns.values()]
    table = pa.Table.from_arrays([*arrays, emb], names=[*columns, "emb"])
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp)


def write_image_embeddings(layout: Any, city: str, ids: list[str], X: np.ndarray) -> None:
    _write(image_path(layout, city), {"image_id": list(ids)}, X)


def write_text_embeddings(
    layout: Any, city: str, target: str, ids: list[str], shas: list[str], X: np.ndarray
) -> None:
    _write(text_path(layout, city, target), {"image_id": list(ids), "text_sha256": list(shas)}, X)


def write_encoders(layout: Any, city: str, image: Any, text: Any) -> None:
    write_json(
        encoders_path(layout, city),
        {"image": {"id": image.id, "dim": int(image.dim)}, "text": {"id": text.id, "dim": int(text.dim)}},
    )


def load_encoders(layout: Any, city: str) -> dict[str, dict[str, Any]]:
    p = encoders_path(layout, city)
    if not p.is_file():
        raise DataError(f"{p} not found: run `dvc repro embed@{city}` first")
    return read_json(p)


def _read(path: Path, dim: int, city: str) -> tuple[list[str], np.ndarray, Any]:
    import pyarrow.parquet as pq

    if not path.is_file():
        raise DataError(f"{path} not found: run `dvc repro embed@{city}` first")
    table = pq.read_table(path)
    if "image_id" not in table.column_names or "emb" not in table.column_names:
        raise DataError(f"{path}: needs columns image_id and emb; re-run `dvc repro embed@{city} --force`")
    ids = [str(x) for x in table.column("image_id").to_pylist()]
    rows = table.column("emb").to_pylist()
    bad = [i for i, r in enumerate(rows) if r is None or len(r) != dim]
    if bad:
        got = rows[bad[0]]
        raise DataError(
            f"{path}: {len(bad)} embeddings do not have width {dim} (encoders.json), e.g. image "
            f"{ids[bad[0]]} has {None if got is None else len(got)}; re-run `dvc repro embed@{city} --force`"
        )
    X = np.asarray(rows, dtype=np.float32).reshape(len(rows), dim)
    if not np.isfinite(X).all():
        nbad = int((~np.isfinite(X).all(axis=1)).sum())
        raise DataError(f"{path}: {nbad} embeddings hold NaN or inf; re-run `dvc repro embed@{city} --force`")
    return ids, X, table


def load_image_embeddings(layout: Any, city: str) -> tuple[list[str], np.ndarray]:
    """(image ids, float32 (n, dim)) of ``data/<city>/embed/image.parquet``."""
    dim = int(load_encoders(layout, city)["image"]["dim"])
    ids, X, _ = _read(image_path(layout, city), dim, city)
    return ids, X


def load_text_embeddings(layout: Any, city: str, target: str) -> tuple[list[str], np.ndarray]:
    """(image ids, float32 (n, dim)) of the description embeddings of ``target`` ('general' or g-s)."""
    dim = int(load_encoders(layout, city)["text"]["dim"])
    ids, X, _ = _read(text_path(layout, city, target), dim, city)
    return ids, X
