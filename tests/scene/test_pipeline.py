"""`dvc repro` through scene@ and embed@ on a few real Place Pulse 1.0 photos, in a throwaway project."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from perceptops.paths import Layout
from perceptops.scene import SCENE_COLUMNS
from support import dvc, make_project, perceptops

pytestmark = pytest.mark.integration

CITY = {
    "boston": {
        "source": "placepulse1",
        "path": "${PERCEPTOPS_SHARED}/data/placepulse1",
        "filter": {"city": "Boston"},
        "limit": 6,
    }
}
STAGES = ("ingest", "validate", "scene", "embed")  # describe is stood in for by written descriptions


def own_stages(text: str, names: tuple[str, ...]) -> str:
    """The stage blocks ``names`` of dvc.yaml, cut by indentation (later stages need models etc.)."""
    keep, out = False, ["stages:"]
    for line in text.splitlines():
        if line.startswith("  ") and not line.startswith("   ") and line.rstrip().endswith(":"):
            keep = line.strip()[:-1] in names
        elif line and not line.startswith(" "):
            keep = False
        if keep:
            out.append(line)
    return "\n".join(out) + "\n"


@pytest.fixture(scope="module")
def project(tmp_path_factory, shared):
    update = {
        "cities!": CITY,
        "train_city": "boston",
        "drift": {"reference": None},
        "scene": {
            "backend": "tflite",
            "model": "${PERCEPTOPS_SHARED}/models/coral/deeplab_mobilenet_edgetpu_slim_cityscapes_quant.tflite",
        },
    }
    root = make_project(tmp_path_factory.mktemp("sceneproj") / "p", update)
    (root / "dvc.yaml").write_text(own_stages((root / "dvc.yaml").read_text(), STAGES))
    r = dvc(root, "repro", "scene@boston", check=False)
    assert r.returncode == 0, r.stdout + r.stderr
    write_descriptions(root)
    r = dvc(root, "repro", "embed@boston", check=False)
    assert r.returncode == 0, r.stdout + r.stderr
    return root


def write_descriptions(root) -> None:
    """Descriptions in the describe stage's format, written from the scene parse (a stand-in for describe@)."""
    from perceptops.config import load_params

    layout = Layout(root)
    scene = pd.read_parquet(layout.scene("boston"))
    targets = ["general", *load_params(root / "params.yaml").target_names()]
    for t in targets:
        text = [
            f"{t}: road {r.road_share:.2f}, green {r.green_view:.2f}, cars {r.car_presence:.2f}"
            for r in scene.itertuples()
        ]
        layout.descriptions_dir("boston").mkdir(parents=True, exist_ok=True)
        pd.DataFrame({"image_id": scene["image_id"], "text": text}).to_parquet(
            layout.descriptions("boston", t), index=False
        )


def test_scene_and_embed_outs(project):
    layout = Layout(project)
    scene = pd.read_parquet(layout.scene("boston"))
    valid = pd.read_parquet(layout.valid_manifest("boston"))
    assert list(scene.columns) == ["image_id", *SCENE_COLUMNS]
    assert scene["image_id"].tolist() == valid["image_id"].tolist()
    assert (scene["backend"] == "tflite").all()
    # street photos: some road and some sky or buildings in every frame, on average
    assert scene["road_share"].mean() > 0.05
    assert (scene["frac_building"] + scene["frac_sky"] + scene["frac_vegetation"]).mean() > 0.3
    from perceptops.encode.store import load_encoders, load_image_embeddings, load_text_embeddings

    ids, X = load_image_embeddings(layout, "boston")
    assert ids == valid["image_id"].tolist() and X.shape[1] == load_encoders(layout, "boston")["image"]["dim"]
    t_ids, T = load_text_embeddings(layout, "boston", "women-crime")
    assert set(t_ids) <= set(ids) and np.isfinite(T).all()


def test_rerun_is_a_no_op_and_cli_reads_the_cache(project):
    r = dvc(project, "repro", "embed@boston")
    assert "Running stage" not in r.stdout, r.stdout
    r = perceptops(project, "scene", "--city", "boston", "--json")
    assert r.returncode == 0, r.stderr
    stats = json.loads(r.stdout[r.stdout.index("{") :])
    assert stats["forwards"] == 0 and stats["cache_hits"] == stats["images"] > 0
