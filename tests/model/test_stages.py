"""The model stages under real DVC in a throwaway project copy (embed/survey outs generated here)."""

from __future__ import annotations

import json

import pytest
from modeltest_support import write_city

from perceptops.config import load_params
from perceptops.paths import Layout
from perceptops.utils import read_json
from support import dvc, make_project, perceptops

pytestmark = pytest.mark.integration


def test_dvc_runs_labels_train_finetunes_and_evaluate(tmp_path):
    # two groups x one scenario keeps it to five stage processes; the full matrix is the same code path
    root = make_project(
        tmp_path / "proj",
        {
            "project": {"seed": 1},
            "groups!": {
                "women": {"persona": "a woman walking alone", "filter": {"gender": "female"}},
                "men": {"persona": "a man walking alone", "filter": {"gender": "male"}},
            },
            "scenarios!": {"crime": {"risk": "crime - being robbed or harassed in the street"}},
            "labels": {"k_sd": 0.3},
            "net": {"adapter_dim": 16},
            "finetune": {
                "mc_passes": 4,
                "top_k": 8,
                "max_epochs": 20,
                "lr": 0.002,
                "max_labelled_fraction": 0.5,
            },
            "train": {"max_epochs": 30},
        },
    )
    params = load_params(root / "params.yaml")
    assert params.target_names() == ["women-crime", "men-crime"]
    # women's perception is nearly unrelated to the general one, men's close to it
    write_city(root, n=120, perceptions={"women-crime": -0.1, "men-crime": 0.9})
    stages = ["labels", "train_general", *[f"finetune@{t}" for t in params.target_names()], "evaluate"]
    res = dvc(root, "repro", "--single-item", *stages, check=False, timeout=600)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    layout = Layout(root)
    for t in params.target_names():
        assert (layout.finetune_dir(t) / "model.pt").is_file()
        assert layout.pseudo_labels(t).is_file()
    results = read_json(layout.evaluation_dir() / "results.json")["targets"]
    assert set(results) == set(params.target_names())
    assert results["women-crime"]["finetune_acc"] > results["women-crime"]["general_acc"] + 0.2, results
    assert results["men-crime"]["finetune_acc"] >= results["men-crime"]["general_acc"] - 0.05, results
    shown = dvc(root, "metrics", "show", "--json").stdout
    assert "women-crime.finetune_acc" in shown and "accuracy" in shown
    # a second repro has nothing to do: every out is pinned and deterministic
    again = dvc(root, "status", *stages)
    assert "changed" not in again.stdout, again.stdout
    cli = perceptops(root, "model", "evaluate", "--json")
    assert cli.returncode == 0, cli.stderr
    assert json.loads(cli.stdout)["women-crime"]["n"] == results["women-crime"]["n"]


def test_stage_error_is_one_line(tmp_path):
    root = make_project(tmp_path / "proj")
    res = perceptops(root, "model", "labels")
    assert res.returncode != 0
    assert "survey stage" in res.stderr and "Traceback" not in res.stderr
