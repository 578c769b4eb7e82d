"""Cached embeddings in, aligned (image id -> image vector, text vector) pairs out.

Everything is keyed by image id: a pair is built by looking both vectors up under the same id,
never by row position, so differently ordered files cannot mis-pair images and descriptions.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from perceptops.errors import DataError
from perceptops.paths import Layout


@dataclass
class Pairs:
    """Image and text embeddings for the same images, in the order of ``ids``."""

    ids: list[str]
    image: np.ndarray  # (n, image_dim) float32
    text: np.ndarray  # (n, text_dim) float32
    missing_text: list[str] = field(default_factory=list)  # requested ids with no description embedding
    missing_image: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.ids)

    def index(self) -> dict[str, int]:
        return {i: k for k, i in enumerate(self.ids)}


def encoders_json(layout: Layout, city: str) -> dict:
    """``data/<c>/embed/encoders.json``: {"image": {"id", "dim"}, "text": {"id", "dim"}}."""
    from perceptops.utils import read_json

    path = layout.embed_dir(city) / "encoders.json"
    if not path.is_file():
        raise DataError(
            f"{path} not found: run the embed stage for city {city!r} first (dvc repro embed@{city})"
        )
    data = read_json(path)
    for branch in ("image", "text"):
        if not isinstance(data.get(branch), dict) or "id" not in data[branch] or "dim" not in data[branch]:
            raise DataError(f"{path} lacks {branch}.id / {branch}.dim: re-run the embed stage for {city!r}")
    return data


def load_image(layout: Layout, city: str) -> tuple[list[str], np.ndarray]:
    from perceptops.encode.store import load_image_embeddings

    return load_image_embeddings(layout, city)


def load_text(layout: Layout, city: str, target: str) -> tuple[list[str], np.ndarray]:
    from perceptops.encode.store import load_text_embeddings

    return load_text_embeddings(layout, city, target)


def check_matrix(X: np.ndarray, dim: int, what: str, ids: list[str]) -> np.ndarray:
    """Refuse wrong widths and non-finite values, naming the first bad image (a second guard behind the
    embed store's own checks: the net must never see NaN or a shifted width)."""
    X = np.asarray(X, dtype=np.float32)
    if X.ndim != 2 or (len(X) and X.shape[1] != dim):
        got = X.shape[1] if X.ndim == 2 else X.shape
        raise DataError(
            f"{what}: embeddings have width {got}, but encoders.json says {dim}; "
            "re-run the embed stage (the encoder in params.yaml encode.* changed?)"
        )
    bad = ~np.isfinite(X).all(axis=1)
    if bad.any():
        first = ids[int(np.flatnonzero(bad)[0])]
        raise DataError(
            f"{what}: {int(bad.sum())} embedding(s) contain NaN/inf (first: image {first}); "
            "delete the embedding cache entry or re-run the embed stage"
        )
    return X


def load_pairs(layout: Layout, city: str, target: str, ids: list[str] | None = None) -> tuple[Pairs, dict]:
    """Pairs of (image, ``target`` description) embeddings for ``ids`` (default: every embedded image).

    Images without a description embedding are skipped and counted in ``missing_text``.
    Returns (pairs, encoders.json).
    """
    enc = encoders_json(layout, city)
    img_ids, Xi = load_image(layout, city)
    txt_ids, Xt = load_text(layout, city, target)
    Xi = check_matrix(Xi, int(enc["image"]["dim"]), f"{city} image embeddings", img_ids)
    Xt = check_matrix(Xt, int(enc["text"]["dim"]), f"{city} text embeddings for {target!r}", txt_ids)
    return pair_up(img_ids, Xi, txt_ids, Xt, ids), enc


def pair_up(
    img_ids: list[str], Xi: np.ndarray, txt_ids: list[str], Xt: np.ndarray, ids: list[str] | None = None
) -> Pairs:
    """Join image and text vectors on image id (the order of ``ids``, else of the image file)."""
    img_pos = {i: k for k, i in enumerate(img_ids)}
    txt_pos = {i: k for k, i in enumerate(txt_ids)}
    wanted = list(dict.fromkeys(ids if ids is not None else img_ids))
    missing_image = [i for i in wanted if i not in img_pos]
    missing_text = [i for i in wanted if i in img_pos and i not in txt_pos]
    keep = [i for i in wanted if i in img_pos and i in txt_pos]
    dim_i = Xi.shape[1] if Xi.ndim == 2 else 0
    dim_t = Xt.shape[1] if Xt.ndim == 2 else 0
    image = Xi[[img_pos[i] for i in keep]] if keep else np.zeros((0, dim_i), np.float32)
    text = Xt[[txt_pos[i] for i in keep]] if keep else np.zeros((0, dim_t), np.float32)
    return Pairs(keep, image, text, missing_text=missing_text, missing_image=missing_image)
