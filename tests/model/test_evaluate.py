from __future__ import annotations

import pandas as pd
import pytest
from modeltest_support import copy_project

from perceptops.errors import DataError
from perceptops.model.evaluate import evaluate
from perceptops.model.finetune import finetune
from perceptops.utils import read_json, write_parquet


@pytest.fixture(scope="module")
def tuned(trained, tmp_path_factory):
    layout = copy_project(trained[0], tmp_path_factory.mktemp("tuned"))
    params = trained[2]
    for group, scenario in params.targets():
        finetune(params, layout, group, scenario)
    return layout, trained[1], params


def test_finetunes_beat_the_general_model_where_perception_differs(tuned, tmp_path):
    layout, params = copy_project(tuned[0], tmp_path), tuned[2]
    results = evaluate(params, layout)
    assert set(results) == {"women-crime", "men-crime"}
    women = results["women-crime"]  # perception nearly unrelated to the general one
    assert women["finetune_acc"] >= women["general_acc"] + 0.2
    assert women["finetune_acc"] >= 0.8
    men = results["men-crime"]  # close to the general perception: the general model is already good
    assert men["general_acc"] >= 0.7 and men["finetune_acc"] >= men["general_acc"] - 0.05
    out = layout.evaluation_dir()
    table = (out / "table.md").read_text()
    assert "| women | crime |" in table and "not in the general model's train/val split" in table
    saved = read_json(out / "results.json")
    assert saved["targets"]["women-crime"]["n"] == women["n"]
    for key in ("group", "scenario", "n", "general_acc", "finetune_acc", "general_f1", "finetune_f1"):
        assert key in saved["targets"]["men-crime"]
    assert (out / "accuracy.png").stat().st_size > 1000
    flat = read_json(layout.metrics("evaluate"))
    assert flat["women-crime.finetune_acc"] == women["finetune_acc"] and flat["finetune_wins"] >= 1


def test_evaluates_on_images_outside_the_general_training_split(tuned, tmp_path):
    layout, params = copy_project(tuned[0], tmp_path), tuned[2]
    split = pd.read_parquet(layout.general_model_dir() / "split.parquet")
    used = split["split"].isin(["train", "val"]).sum()
    n_truth = len(tuned[1]["ids"])
    results = evaluate(params, layout)
    assert results["women-crime"]["n"] == n_truth - used
    # too few held-out images: falls back to all of them and says so
    params2 = params.model_copy(
        update={"evaluate": params.evaluate.model_copy(update={"min_images": 10_000})}
    )
    results = evaluate(params2, layout)
    assert results["women-crime"]["n"] == n_truth
    assert results["women-crime"]["images"].startswith("all with survey truth")


def test_min_comparisons_filters_truth(tuned, tmp_path):
    layout, params = copy_project(tuned[0], tmp_path), tuned[2]
    qs = pd.read_parquet(layout.qscores("demo"))
    thin = qs["image_id"].isin(tuned[1]["ids"][:40]) & (qs["group"] == "women")
    qs.loc[thin, "n"] = 1
    write_parquet(qs, layout.qscores("demo"))
    p = params.model_copy(update={"evaluate": params.evaluate.model_copy(update={"min_images": 1})})
    res = evaluate(p, layout)
    assert res["men-crime"]["n"] - res["women-crime"]["n"] == len(
        set(tuned[1]["ids"][:40])
        - set(
            pd.read_parquet(layout.general_model_dir() / "split.parquet").query("split != 'test'")["image_id"]
        )
    )


def test_no_group_truth_is_a_clear_error(tuned, tmp_path):
    layout, params = copy_project(tuned[0], tmp_path), tuned[2]
    qs = pd.read_parquet(layout.qscores("demo"))
    write_parquet(qs[qs["group"] == "all"], layout.qscores("demo"))
    with pytest.raises(DataError, match="evaluate.min_comparisons"):
        evaluate(params, layout)


def test_missing_finetune_names_the_stage(trained, tmp_path):
    layout = copy_project(trained[0], tmp_path)
    with pytest.raises(DataError, match=r"finetune@women-crime"):
        evaluate(trained[2], layout)
