from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from modeltest_support import small_params, write_city

from perceptops.errors import DataError
from perceptops.model.io import load_model
from perceptops.model.labels import make_labels
from perceptops.model.train import stratified_split, train_general
from perceptops.paths import Layout
from perceptops.utils import read_json, sha256_file, write_parquet


def _train(layout: Layout, **update) -> dict:
    params = small_params(**update)
    make_labels(params, layout)
    return train_general(params, layout)


def test_train_general_writes_every_out(city):
    layout, _ = city
    metrics = _train(layout)
    d = layout.general_model_dir()
    for name in ("model.pt", "config.json", "history.json", "metrics.json", "split.parquet", "curves.png"):
        assert (d / name).is_file(), name
    assert read_json(layout.metrics("train_general")) == metrics == read_json(d / "metrics.json")
    # the generated city is learnable: a broken loop or label mix-up would sit near 0.5
    assert metrics["accuracy"] >= 0.8 and metrics["roc_auc"] >= 0.85
    history = read_json(d / "history.json")
    assert {"loss", "val_loss", "val_acc"} <= set(history[0])
    assert history[-1]["loss"] < history[0]["loss"]
    split = pd.read_parquet(d / "split.parquet")
    labels = pd.read_parquet(layout.labels())
    assert sorted(split["image_id"]) == sorted(labels["image_id"])
    cfg = read_json(d / "config.json")
    assert cfg["encoders"]["image"] == {"id": "builtin-pixels-v1", "dim": 16}
    assert cfg["seed"] == 3 and cfg["variant"] == "fusion"


def test_same_seed_same_model_bytes_other_seed_differs(tmp_path):
    digests = []
    for k, seed in enumerate((3, 3, 4)):
        root = tmp_path / str(k)
        write_city(root)
        _train(Layout(root), project={"seed": seed})
        digests.append(sha256_file(Layout(root).general_model_dir() / "model.pt"))
    assert digests[0] == digests[1]
    assert digests[2] != digests[0]


def test_early_stopping_stops_before_max_epochs(city):
    layout, _ = city
    metrics = _train(layout, train={"max_epochs": 400, "patience": 2, "lr": 0.01})
    assert metrics["epochs"] < 400


def test_images_without_general_description_are_skipped_and_counted(city):
    layout, _ = city
    path = layout.embed_dir("demo") / "text-general.parquet"
    df = pd.read_parquet(path)
    labels_params = small_params()
    make_labels(labels_params, layout)
    labelled = set(pd.read_parquet(layout.labels())["image_id"])
    drop = [i for i in df["image_id"] if i in labelled][:7]
    write_parquet(df[~df["image_id"].isin(drop)], path)
    metrics = train_general(labels_params, layout)
    assert metrics["skipped_no_description"] == 7
    assert metrics["n_train"] + metrics["n_val"] + metrics["n_test"] == len(labelled) - 7


def test_no_description_at_all_is_a_clear_error(city):
    layout, _ = city
    path = layout.embed_dir("demo") / "text-general.parquet"
    write_parquet(pd.read_parquet(path).iloc[:0], path)
    params = small_params()
    make_labels(params, layout)
    with pytest.raises(DataError, match="describe and embed"):
        train_general(params, layout)


@pytest.mark.parametrize("variant", ["image", "text"])
def test_ablation_variants_train_and_load(city, variant):
    layout, _ = city
    metrics = _train(layout, net={"variant": variant})
    assert metrics["accuracy"] > 0.6
    assert load_model(layout.general_model_dir()).config["variant"] == variant


def test_cross_attention_fusion_trains(city):
    layout, _ = city
    assert _train(layout, net={"fusion": "cross_attention"})["accuracy"] >= 0.8


def test_stratified_split_keeps_both_classes_everywhere():
    ids = [f"{k:03d}" for k in range(50)]
    y = np.array([1] * 10 + [0] * 40)
    split = stratified_split(ids, y, (0.6, 0.2, 0.2), seed=1)
    for s in ("train", "val", "test"):
        assert set(y[split == s]) == {0, 1}
    assert (split == stratified_split(ids, y, (0.6, 0.2, 0.2), seed=1)).all()


def test_split_with_too_few_examples_names_the_knobs():
    with pytest.raises(DataError, match=r"train\.split.*labels\.k_sd"):
        stratified_split(["a", "b", "c", "d"], np.array([1, 0, 0, 0]), (0.6, 0.2, 0.2), seed=0)


def test_numpy_metrics_match_sklearn():
    from sklearn.metrics import accuracy_score, f1_score, roc_auc_score

    from perceptops.model.train import accuracy_f1, binary_metrics

    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 200)
    p = np.round(np.clip(0.3 * y + rng.random(200) * 0.7, 0, 1), 1)  # rounded: many ties
    m = binary_metrics(y, p)
    pred = (p >= 0.5).astype(int)
    assert m["accuracy"] == pytest.approx(accuracy_score(y, pred))
    assert m["f1"] == pytest.approx(f1_score(y, pred))
    assert m["roc_auc"] == pytest.approx(roc_auc_score(y, p))
    assert binary_metrics(np.ones(5), np.ones(5))["roc_auc"] is None
    assert accuracy_f1(np.zeros(4), np.zeros(4)) == (1.0, 0.0)
