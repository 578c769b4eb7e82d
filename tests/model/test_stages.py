"""The model stages under real DVC in a throwaway project copy (embed/survey outs generated here)."""

from __future__ import annotations

import json

import pytest

from conftest import write_city
from perceptops.config import load_params
from perceptops.paths import Layout
from perceptops.utils import read_json
from support import dvc, make_project, perceptops

pytestmark = pytest.mark.integration


def test_dvc_runs_labels_train_finetunes_and_evaluate(tmp_path):
    root = make_project(
        tmp_path / "proj",
        {
            "project": {"seed": 1},
            "labels": {"k_sd": 0.3},
            "net": {"adapter_dim": 16},
            "finetune": {"mc_passes": 4, "top_k": 8, "max_epochs": 20},
            "train": {"max_epochs": 30},
        },
    )
    params = load_params(root / "params.yaml")
    # the groups that differ most from the general perception get the least related latent
    coupling = {"women": -0.1, "men": 0.9, "elderly": 0.2, "middle-aged": 0.8}
    write_city(
        root,
        n=120,
        perceptions={
            t: coupling[g] for (g, _), t in zip(params.targets(), params.target_names(), strict=True)
        },
    )
    stages = ["labels", "train_general", *[f"finetune@{t}" for t in params.target_names()], "evaluate"]
    res = dvc(root, "repro", "--single-item", *stages, check=False, timeout=600)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    layout = Layout(root)
    for t in params.target_names():
        assert (layout.finetune_dir(t) / "model.pt").is_file()
        assert layout.pseudo_labels(t).is_file()
    results = read_json(layout.evaluation_dir() / "results.json")["targets"]
    assert set(results) == set(params.target_names())
    for t in ("women-traffic", "women-crime", "elderly-traffic", "elderly-crime"):
        assert results[t]["finetune_acc"] > results[t]["general_acc"], (t, results[t])
    for t in ("men-traffic", "men-crime", "middle-aged-traffic", "middle-aged-crime"):
        assert results[t]["finetune_acc"] >= results[t]["general_acc"] - 0.05, (t, results[t])
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
