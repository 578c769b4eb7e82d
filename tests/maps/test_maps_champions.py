"""Champions from a real (tmp sqlite) MLflow registry: aliases, versions, a group without a champion."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from maps_support import DIM_I, DIM_T, SMALL_TARGETS, load_model_dir, make_city, make_model, save_model_dir

from perceptops.errors import BackendError
from perceptops.maps.build import score_city
from perceptops.maps.champions import find_model_dir, load_champions, tracking_uri
from perceptops.paths import Layout


def _registry(tmp: Path, targets: list[str], no_champion: set[str], broken: set[str] = frozenset()):
    from mlflow import MlflowClient

    uri = f"sqlite:///{tmp / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    exp = client.create_experiment("t", artifact_location=(tmp / "artifacts").as_uri())
    models = {}
    for k, t in enumerate(targets):
        name = f"safety-{t}"
        client.create_registered_model(name)
        for v in (1, 2):  # two versions: the champion must be the aliased one, not the latest
            m = make_model(t, 10 * k + v)
            d = tmp / "dirs" / f"{t}-{v}"
            if t in broken:
                d.mkdir(parents=True)
                (d / "README").write_text("no model here")
            else:
                save_model_dir(d, m)
            run = client.create_run(exp)
            client.log_artifacts(run.info.run_id, str(d), "model")
            client.set_terminated(run.info.run_id)
            client.create_model_version(name, f"{run.info.artifact_uri}/model", run_id=run.info.run_id)
            models[(t, str(v))] = m
        if t not in no_champion:
            client.set_registered_model_alias(name, "champion", "1")
        client.set_registered_model_alias(name, "candidate", "2")
    return uri, models


@pytest.mark.integration
def test_champions_from_registry(params, project, tmp_path, monkeypatch):
    uri, models = _registry(tmp_path, SMALL_TARGETS, no_champion={"women-crime"})
    # the project's own params (registry.tracking_uri), no MLFLOW_TRACKING_URI: as in the pipeline
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    params = params.model_copy(update={"registry": params.registry.model_copy(update={"tracking_uri": uri})})
    champs, skipped = load_champions(params, project, loader=load_model_dir)
    assert [c.target for c in champs] == ["general", "men-crime"]
    assert all(c.version == "1" and c.run_id for c in champs)
    assert len(skipped) == 1 and "women-crime" in skipped[0] and "champion" in skipped[0]
    rng = np.random.default_rng(0)
    xi, xt = rng.normal(size=(5, DIM_I)), rng.normal(size=(5, DIM_T))
    for c in champs:  # the champion's weights, not the candidate's
        assert np.allclose(c.model.score(xi, xt), models[(c.target, "1")].score(xi, xt))
        assert not np.allclose(c.model.score(xi, xt), models[(c.target, "2")].score(xi, xt))

    # end to end: the group without a champion is skipped with a message, the rest mapped
    make_city(project, "demo", 10)
    msgs: list[str] = []
    s = score_city(params, project, "demo", loader=load_model_dir, echo=msgs.append)
    assert set(s["models"]) == {"general", "men-crime"}
    assert any("women-crime" in m and "champion" in m for m in msgs)
    pred = pd.read_parquet(Layout(project).predictions("demo"))
    assert set(pred["version"]) == {"1"} and set(pred["model"]) == {"safety-general", "safety-men-crime"}


@pytest.mark.integration
def test_champion_without_model_files(params, project, tmp_path, monkeypatch):
    uri, _ = _registry(tmp_path, ["general"], no_champion=set(), broken={"general"})
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    with pytest.raises(BackendError, match="config.json"):
        load_champions(params, project, targets=["general"], loader=load_model_dir)


def test_tracking_uri_relative_sqlite(params, project, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    uri = tracking_uri(params, project)
    assert uri.startswith("sqlite:///") and str(project) in uri


def test_find_model_dir(tmp_path):
    d = save_model_dir(tmp_path / "a" / "b", make_model("general", 0))
    assert find_model_dir(tmp_path) == d
    assert find_model_dir(tmp_path / "a" / "b") == d
    (tmp_path / "c").mkdir()
    assert find_model_dir(tmp_path / "c") is None
