"""The register stage on real dvc outs: runs, versions, lineage tags equal to dvc.lock, datasets, card, loading."""

from __future__ import annotations

import json

import numpy as np
import pytest
from registry_helpers import TARGETS, load

from perceptops.utils import md5_file, read_json

pytestmark = pytest.mark.integration


def _lock_outs(root):
    from ruamel.yaml import YAML

    lock = YAML(typ="safe").load((root / "dvc.lock").read_text())
    return {o["path"]: o["md5"] for o in lock["stages"]["upstream"]["outs"]}


def _dir_entry(root, dir_md5, relpath):
    obj = root / ".dvc/cache/files/md5" / dir_md5[:2] / dir_md5[2:]
    return {e["relpath"]: e["md5"] for e in json.loads(obj.read_text())}[relpath]


def test_register_writes_versions_with_lineage(registered):
    from perceptops.registry.tracking import connect

    root, out = registered
    names = [m["name"] for m in out["models"]]
    assert names == ["safety-general", *[f"safety-{t}" for t in TARGETS]]
    assert read_json(root / "registry/registered.json") == out
    assert out["tracking_uri"].startswith("sqlite:////") and out["tracking_uri"].endswith("/mlflow/mlflow.db")
    for m in out["models"]:
        assert m["version"] == "1" and set(m["aliases"]) == {"candidate", "champion"}, m

    reg = connect(load(root), root)
    outs = _lock_outs(root)
    mv = reg.client.get_model_version("safety-women-crime", "1")
    t = mv.tags
    # a file inside a directory out: the .dir manifest's md5 for it + the dir out's md5 from dvc.lock
    assert t["lineage.descriptions.path"] == "descriptions/demo/women-crime.parquet"
    assert t["lineage.descriptions.out"] == "descriptions/demo"
    assert t["lineage.descriptions.out_md5"] == outs["descriptions/demo"]
    assert t["lineage.descriptions.md5"] == _dir_entry(root, outs["descriptions/demo"], "women-crime.parquet")
    assert t["lineage.descriptions.md5"] == md5_file(root / "descriptions/demo/women-crime.parquet")
    assert t["lineage.pseudo_labels.md5"] == _dir_entry(root, outs["pseudo_labels"], "women-crime.parquet")
    assert t["lineage.manifest.md5"] == _dir_entry(root, outs["data/demo/ingest"], "manifest.parquet")
    assert t["lineage.descriptions.source"] == "dvc.lock"
    assert t["describer.backend"] == "scene" and t["describer.model"] == "builtin-scene"
    assert t["describer.prompt_hash"] == "ph-women-crime"
    assert t["encoder.image"] == "builtin-pixel-v1" and t["encoder.text"] == "builtin-hash-v1"
    assert (t["train_city"], t["group"], t["scenario"]) == ("demo", "women", "crime")
    assert t["base.general_version"] == "1"
    assert len(t["git.commit"]) == 40 and t["git.dirty"] == "false"
    assert float(t["eval.accuracy"]) == pytest.approx(0.66)
    assert t["data.validation_passed"] == "true"
    g = reg.client.get_model_version("safety-general", "1").tags
    assert float(g["eval.accuracy"]) == pytest.approx(0.61)  # mean general accuracy over the groups
    assert g["lineage.labels.md5"] == _dir_entry(root, outs["data/labels"], "general.parquet")
    assert "lineage.pseudo_labels.md5" not in g

    run = reg.client.get_run(mv.run_id)
    hist = reg.client.get_metric_history(mv.run_id, "val_acc")
    assert [m.step for m in hist] == [1, 2, 3]
    assert run.data.params["train.lr"] == str(load(root).finetune.lr)
    assert "test.accuracy" in run.data.metrics
    assert [m.step for m in reg.client.get_metric_history(mv.run_id, "pseudo.labelled")] == [0, 1, 2]
    ds = {d.dataset.name: d.dataset for d in run.inputs.dataset_inputs}
    assert set(ds) == {"manifest-women-crime", "descriptions-women-crime", "pseudo_labels-women-crime"}
    assert ds["descriptions-women-crime"].digest == t["lineage.descriptions.md5"]
    arts = {a.path for a in reg.client.list_artifacts(mv.run_id)}
    assert {"model_card.md", "safety_model", "plots", "summary"} <= arts
    import mlflow

    card = mlflow.artifacts.load_text(f"runs:/{mv.run_id}/model_card.md")
    assert "women" in card and "crime" in card and "Known limits" in card and "| women-crime |" in card


def test_champion_loads_with_mlflow_and_as_safety_model(registered):
    import mlflow

    from perceptops.registry import load_champion
    from perceptops.registry.tracking import connect

    root, _ = registered
    reg = connect(load(root), root)
    # models:/ URIs resolve through MLflow's process-global URIs: pin them to this project's registry
    # for this test (another test in the session may have pointed them elsewhere).
    mlflow.set_tracking_uri(reg.uri)
    mlflow.set_registry_uri(reg.uri)
    x = np.random.default_rng(0).normal(size=(5, 8 + 6)).astype(np.float32)
    pyf = mlflow.pyfunc.load_model("models:/safety-general@champion")
    scores = np.asarray(pyf.predict(x)).ravel()
    assert scores.shape == (5,) and ((scores >= 0) & (scores <= 10)).all()
    net = mlflow.pytorch.load_model("models:/safety-women-crime@champion")
    assert net(__import__("torch").from_numpy(x)).shape == (5, 1)
    model = load_champion("safety-general", load(root), root)
    np.testing.assert_allclose(model.score(x[:, :8], x[:, 8:]), scores, rtol=1e-5)
    assert not (root / "mlruns").exists()


def test_rerun_reuses_identical_models(registered):
    from perceptops.registry.register import register_all
    from perceptops.registry.tracking import connect

    root, first = registered
    again = register_all(load(root), root)
    assert [m["version"] for m in again["models"]] == [m["version"] for m in first["models"]]
    reg = connect(load(root), root)
    assert len(reg.client.search_model_versions("name='safety-general'")) == 1
    assert len(reg.client.search_runs([reg.experiment_id()])) == 3


def test_missing_model_folder_names_the_stage(project):
    import shutil

    from perceptops.errors import DataError
    from perceptops.registry.register import register_all

    shutil.rmtree(project / "models/finetune/women-crime")
    with pytest.raises(DataError, match=r"models/finetune/women-crime/model.pt is missing: run the finetune"):
        register_all(load(project), project)
    assert not (project / "registry/registered.json").exists()
