from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from modeltest_support import copy_project

from perceptops.errors import ConfigError, DataError
from perceptops.model.data import load_pairs
from perceptops.model.finetune import finetune, mc_dropout_seed, self_train
from perceptops.model.io import load_model
from perceptops.model.train import cached_features
from perceptops.utils import read_json, write_json, write_parquet


def _truth(info: dict, target: str) -> dict[str, int]:
    return {i: int(z > 0) for i, z in zip(info["ids"], info["latents"][target], strict=True)}


def test_pseudo_labels_belong_to_their_own_images_whatever_the_pool_order(trained):
    """The reference wrote labels by loop position; here a shuffled pool must give the same id -> label map,
    and each label must match its own image's (group) perception."""
    layout, info, params = trained
    general = load_model(layout.general_model_dir())
    pairs, _ = load_pairs(layout, "demo", "women-crime")
    res = self_train(general.net, pairs, params.finetune, seed=5, batch_size=32)

    perm = np.random.default_rng(0).permutation(len(pairs))
    pairs.ids = [pairs.ids[i] for i in perm]
    pairs.image, pairs.text = pairs.image[perm], pairs.text[perm]
    shuffled = self_train(general.net, pairs, params.finetune, seed=5, batch_size=32)

    assert {i: (p.label, p.round) for i, p in res.labels.items()} == {
        i: (p.label, p.round) for i, p in shuffled.labels.items()
    }
    assert max(p.round for p in res.labels.values()) >= 1  # self-training rounds added images
    truth = _truth(info, "women-crime")
    agree = np.mean([truth[i] == p.label for i, p in res.labels.items()])
    # The most confident images per class sit far from the boundary: a mis-keyed label would show here.
    assert agree >= 0.95, agree


def test_stage_writes_outs_and_stops_at_the_labelled_fraction(trained, tmp_path):
    layout = copy_project(trained[0], tmp_path)
    params = trained[2]
    metrics = finetune(params, layout, "women", "crime")
    d = layout.finetune_dir("women-crime")
    for name in (
        "model.pt",
        "config.json",
        "history.json",
        "metrics.json",
        "split.parquet",
        "curves.png",
        "pseudo_summary.json",
    ):
        assert (d / name).is_file(), name
    pl = pd.read_parquet(layout.pseudo_labels("women-crime"))
    assert list(pl.columns) == ["image_id", "label", "confidence", "round"]
    assert pl["image_id"].is_unique and pl["confidence"].between(0, 1).all()
    assert set(pl["label"]) == {0, 1}
    summary = read_json(d / "pseudo_summary.json")
    assert (
        summary[0]["round"] == 0 and summary[0]["added"] == metrics["seed_size"] == 2 * params.finetune.top_k
    )
    assert [s["labelled"] for s in summary] == sorted(s["labelled"] for s in summary)
    assert summary[-1]["labelled"] == len(pl) == metrics["labelled"]
    # stops once the labelled share reaches max_labelled_fraction (+ at most one round's additions)
    step = 2 * params.finetune.top_k / metrics["pool"]
    assert (
        params.finetune.max_labelled_fraction
        <= metrics["labelled_fraction"]
        < params.finetune.max_labelled_fraction + step
    )
    assert (pl.groupby("round").size().to_dict()) == {s["round"]: s["added"] for s in summary}
    cfg = read_json(d / "config.json")
    assert (
        cfg["target"] == "women-crime"
        and cfg["encoders"] == load_model(layout.general_model_dir()).config["encoders"]
    )
    assert read_json(layout.root / "metrics" / "finetune" / "women-crime.json") == metrics


def test_rounds_limit(trained, tmp_path):
    layout = copy_project(trained[0], tmp_path)
    params = trained[2].model_copy(update={"finetune": trained[2].finetune.model_copy(update={"rounds": 1})})
    metrics = finetune(params, layout, "men", "crime")
    assert metrics["rounds"] == 1 and metrics["labelled"] == metrics["seed_size"]


def test_mc_dropout_seed_is_seeded_and_balanced(trained):
    layout, _, _ = trained
    general = load_model(layout.general_model_dir())
    pairs, _ = load_pairs(layout, "demo", "men-crime")
    feats = cached_features(pairs.image, pairs.text)
    a = mc_dropout_seed(general.net, feats, pairs.ids, passes=6, k=7, seed=1)
    b = mc_dropout_seed(general.net, feats, pairs.ids, passes=6, k=7, seed=1)
    assert a == b
    labels = [p.label for p in a.values()]
    assert labels.count(0) == labels.count(1) == 7
    assert all(p.round == 0 for p in a.values())


def test_empty_pseudo_label_pool_is_a_clear_error(trained, tmp_path):
    layout = copy_project(trained[0], tmp_path)
    path = layout.embed_dir("demo") / "text-women-crime.parquet"
    write_parquet(pd.read_parquet(path).iloc[:0], path)
    with pytest.raises(DataError, match="pseudo-label pool for 'women-crime' is empty"):
        finetune(trained[2], layout, "women", "crime")


def test_images_without_group_description_are_skipped_and_counted(trained, tmp_path):
    layout = copy_project(trained[0], tmp_path)
    path = layout.embed_dir("demo") / "text-men-crime.parquet"
    write_parquet(pd.read_parquet(path).iloc[9:], path)
    metrics = finetune(trained[2], layout, "men", "crime")
    assert metrics["skipped_no_description"] == 9 and metrics["pool"] == len(trained[1]["ids"]) - 9


def test_encoder_changed_since_the_general_model_is_refused(trained, tmp_path):
    layout = copy_project(trained[0], tmp_path)
    enc_path = layout.embed_dir("demo") / "encoders.json"
    enc = read_json(enc_path)
    enc["text"]["id"] = "hf:bert-base-uncased"
    write_json(enc_path, enc)
    with pytest.raises(ConfigError, match="builtin-hash-v1.*hf:bert-base-uncased"):
        finetune(trained[2], layout, "men", "crime")


def test_unknown_group_or_missing_general_model(trained, tmp_path):
    with pytest.raises(ConfigError, match="unknown group"):
        finetune(trained[2], trained[0], "kids", "crime")
    layout = copy_project(trained[0], tmp_path)
    (layout.general_model_dir() / "model.pt").unlink()
    with pytest.raises(DataError, match="training stage"):
        finetune(trained[2], layout, "men", "crime")
