from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from modeltest_support import IMG_DIM, TXT_DIM

from perceptops.errors import DataError
from perceptops.model.data import check_matrix, load_pairs, pair_up
from perceptops.paths import Layout
from perceptops.utils import write_json, write_parquet


def test_check_matrix_names_the_first_bad_image():
    X = np.zeros((3, 2), np.float32)
    X[1, 0] = np.inf
    with pytest.raises(DataError, match="image b"):
        check_matrix(X, 2, "test", ["a", "b", "c"])
    with pytest.raises(DataError, match="width 2.*says 3"):
        check_matrix(np.zeros((3, 2)), 3, "test", ["a", "b", "c"])


def test_pairs_join_on_image_id_not_position():
    Xi = np.arange(6, dtype=np.float32).reshape(3, 2)
    Xt = np.array([[30], [10], [20]], np.float32)  # text file in another order
    p = pair_up(["a", "b", "c"], Xi, ["c", "a", "b"], Xt)
    assert p.ids == ["a", "b", "c"]
    assert p.text[:, 0].tolist() == [10, 20, 30]
    assert p.image[:, 0].tolist() == [0, 2, 4]


def test_missing_descriptions_are_skipped_and_counted(city):
    layout, info = city
    path = layout.embed_dir("demo") / "text-women-crime.parquet"
    df = pd.read_parquet(path)
    write_parquet(df.iloc[5:], path)  # 5 images lost their description
    pairs, _ = load_pairs(layout, "demo", "women-crime")
    assert len(pairs) == len(info["ids"]) - 5
    assert sorted(pairs.missing_text) == sorted(df["image_id"].iloc[:5])


def _corrupt(layout: Layout, name: str, fn) -> None:
    path = layout.embed_dir("demo") / name
    df = pd.read_parquet(path)
    df["emb"] = fn(list(df["emb"]))
    write_parquet(df, path)


def test_nan_embedding_is_refused_naming_the_file(city):
    layout, _ = city

    def nan_one(embs):
        embs[3] = np.full(IMG_DIM, np.nan, np.float32)
        return embs

    _corrupt(layout, "image.parquet", nan_one)
    with pytest.raises(DataError, match=r"image\.parquet.*NaN"):
        load_pairs(layout, "demo", "general")


def test_wrong_width_embedding_is_refused(city):
    layout, _ = city
    _corrupt(layout, "text-general.parquet", lambda embs: [np.zeros(TXT_DIM + 3, np.float32) for _ in embs])
    with pytest.raises(DataError, match=rf"text-general\.parquet.*width {TXT_DIM}"):
        load_pairs(layout, "demo", "general")


def test_encoders_json_dim_mismatch_is_refused(city):
    layout, _ = city
    write_json(
        layout.embed_dir("demo") / "encoders.json",
        {"image": {"id": "x", "dim": IMG_DIM + 1}, "text": {"id": "y", "dim": TXT_DIM}},
    )
    with pytest.raises(DataError, match=r"image\.parquet.*width"):
        load_pairs(layout, "demo", "general")


def test_missing_embed_outs(tmp_path):
    with pytest.raises(DataError, match="embed stage"):
        load_pairs(Layout(tmp_path), "demo", "general")
