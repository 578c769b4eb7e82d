"""Fixtures for serving: a throwaway project whose MLflow registry holds small stand-in champions.

The stand-ins are real perceptops nets (``perceptops.model.net``) saved in the model package format
(``model.pt`` + ``config.json``) for the configured encoders, logged the way the register stage logs
them (``mlflow.pytorch.log_model`` with the model folder as extra files) into a sqlite registry in tmp,
with lineage tags and alias ``champion``. ``perceptops package`` then runs as a subprocess.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any

import pytest

from support import make_project, perceptops

# Two groups x two scenarios keep the bento small (5 models); params stay data, not code.
SMALL = {
    "groups!": {
        "women": {"persona": "a woman walking alone", "filter": {"gender": "female"}},
        "elderly": {"persona": "an elderly person aged 65 or over", "filter": {"age": {"min": 65}}},
    },
    "scenarios!": {
        "traffic": {"risk": "traffic accidents - being hit by a car while crossing"},
        "crime": {"risk": "crime - being robbed or harassed in the street"},
    },
}
LINEAGE = {
    "git.commit": "0123456789abcdef",
    "lineage.descriptions.md5": "d41d8cd98f00b204e9800998ecf8427e",
    "describer.prompt_hash": "feedbeef",
}


def save_standin(params: Any, target: str, dest: Path, seed: int) -> Path:
    import torch

    from perceptops.encode import get_image_encoder, get_text_encoder
    from perceptops.model.io import save_model
    from perceptops.model.net import build_from_config, net_config

    ie, te = get_image_encoder(params), get_text_encoder(params)
    config = net_config(params.net, {"id": ie.id, "dim": ie.dim}, {"id": te.id, "dim": te.dim})
    torch.manual_seed(seed)
    net = build_from_config(config)
    with torch.no_grad():  # spread the outputs so scores differ across images and models
        for p in net.parameters():
            p.mul_(3.0)
    save_model(dest / target, net, config)
    return dest / target


def register_standins(
    root: Path, targets: list[str] | None = None, alias: str = "champion"
) -> dict[str, str]:
    """Log one stand-in per target into the project's MLflow registry; returns {name: version}."""
    import mlflow.pytorch

    from perceptops.config import load_params
    from perceptops.registry import model_name
    from perceptops.registry.register import scorer_module
    from perceptops.registry.tracking import connect

    params = load_params(root / "params.yaml")
    reg = connect(params, root)
    out = {}
    for i, target in enumerate(targets or ["general", *params.target_names()]):
        mdir = save_standin(params, target, root / "standins", seed=i)
        name = model_name(target)
        with mlflow.start_run(experiment_id=reg.experiment_id()) as run:
            mlflow.log_artifacts(str(mdir), artifact_path="safety_model")
            from perceptops.model.io import load_model

            m = load_model(mdir)
            info = mlflow.pytorch.log_model(
                scorer_module(m.net, m.config["encoders"]["image"]["dim"]),
                name="model",
                pip_requirements=["torch==2.13.0"],
                serialization_format="pickle",
                extra_files=[str(mdir / "model.pt"), str(mdir / "config.json")],
            )
        with contextlib.suppress(Exception):
            reg.client.create_registered_model(name)
        tags = {**LINEAGE, "target": target, "encoder.image": m.config["encoders"]["image"]["id"]}
        mv = reg.client.create_model_version(name, info.model_uri, run_id=run.info.run_id, tags=tags)
        reg.client.set_registered_model_alias(name, alias, str(mv.version))
        out[name] = str(mv.version)
    return out


@pytest.fixture(scope="session")
def serve_project(tmp_path_factory) -> Path:
    root = make_project(tmp_path_factory.mktemp("serve") / "proj", SMALL)
    os.environ.pop("MLFLOW_TRACKING_URI", None)
    register_standins(root)
    return root


@pytest.fixture(scope="session")
def packaged(serve_project) -> dict[str, Any]:
    """`perceptops package --json` in the project (subprocess: BentoML reads BENTOML_HOME at import)."""
    r = perceptops(serve_project, "package", "--json", timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    out = json.loads(r.stdout)
    out["root"] = serve_project
    return out
