"""The whole pipeline through `dvc repro` on real Place Pulse 1.0 photos: Boston trains, NYC is the new city.

A few dozen photos per city (``limit``), the `pixel` scene backend (no model: keeps the run short on
2 cores) and the simulated panel of each city as its survey. ``scripts/placepulse.py`` runs the same
on every photo with the TFLite scene backend (docs/results-placepulse.md).
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

from support import dvc, make_project, perceptops, shared_dir

# ~27 stages, each a fresh Python process: on a loaded shared 2-core machine the one repro can pass 15 min
pytestmark = [pytest.mark.integration, pytest.mark.timeout(1800)]

LIMIT = 40
PP = "${PERCEPTOPS_SHARED}/data/placepulse1"


@pytest.fixture(scope="module")
def pp_project(tmp_path_factory) -> tuple:
    """A project copy with boston + nyc added by `perceptops cities add`, after one full `dvc repro`."""
    if not (shared_dir() / "data/placepulse1/scores.csv").is_file():
        pytest.skip(f"Place Pulse 1.0 data absent under {shared_dir()} (set PERCEPTOPS_SHARED)")
    root = make_project(
        tmp_path_factory.mktemp("placepulse") / "proj",
        {
            # a city mapping that holds only the real cities (added below, as a user would)
            "cities!": {},
            "train_city": "boston",
            "scene": {"backend": "pixel"},
            # 40 entries -> 40 valid photos today (a duplicate would leave fewer): margin for the self-check halves
            "drift": {"min_images": 10},
            "evaluate": {"min_images": 10},
            # 25 photos cannot pass the accuracy gate; champions are needed to score every model
            "promotion": {"min_accuracy": 0.0},
        },
    )
    added = {}
    for name, pp_city in (("boston", "Boston"), ("nyc", "New York City")):
        r = perceptops(
            root, "cities", "add", name, "--source", "placepulse1", "--path", PP,
            "--filter", f"city={pp_city}", "--limit", str(LIMIT),
        )  # fmt: skip
        assert r.returncode == 0, r.stderr
        added[name] = r.stdout
    r = dvc(root, "repro", check=False, timeout=1200)
    if r.returncode != 0:
        raise AssertionError(f"dvc repro failed:\n{r.stdout[-4000:]}\n{r.stderr[-4000:]}")
    return root, added


def test_cities_added_through_the_cli(pp_project):
    root, added = pp_project
    assert "added city 'boston'" in added["boston"] and "next: dvc repro validate@boston" in added["boston"]
    listing = json.loads(perceptops(root, "cities", "list", "--json", check=True).stdout)
    rows = {c["name"]: c for c in (listing if isinstance(listing, list) else listing["cities"])}
    assert set(rows) == {"boston", "nyc"}
    assert rows["nyc"]["filter"] == {"city": "New York City"} and rows["nyc"]["limit"] == LIMIT


def test_real_photos_ingested_validated_and_parsed(pp_project):
    root, _ = pp_project
    for city, lat in (("boston", 42.36), ("nyc", 40.75)):
        manifest = pd.read_parquet(root / f"data/{city}/ingest/manifest.parquet")
        assert len(manifest) == LIMIT and (manifest["source"] == "placepulse1").all()
        assert manifest["lat"].between(lat - 0.5, lat + 0.5).all()  # the filter kept one city only
        met = json.loads((root / f"metrics/validate/{city}.json").read_text())
        assert met["passed"] and met["total"] == LIMIT
        valid = pd.read_parquet(root / f"data/{city}/valid/valid.parquet")
        assert len(valid) == met["valid"] >= 15  # Place Pulse 1.0 repeats photos across entries
        scene = pd.read_parquet(root / f"data/{city}/scene/scene.parquet")
        assert set(scene["image_id"]) == set(valid["image_id"])
        assert scene["frac_road"].between(0, 1).all() and (scene["backend"] == "pixel").all()


def test_simulated_panel_gives_group_qscores(pp_project):
    root, _ = pp_project
    q = pd.read_parquet(root / "data/boston/survey/qscores.parquet")
    met = json.loads((root / "metrics/survey/boston.json").read_text())
    assert met["votes_used"] > 0 and met["raters"] > 0
    groups = set(zip(q["group"], q["scenario"], strict=True))
    assert ("all", "general") in groups  # the crowd score
    for g in ("women", "men", "elderly", "middle-aged"):
        for s in ("traffic", "crime"):
            assert (g, s) in groups, (g, s)
    assert q["q"].between(0, 10).all()
    # the given crowd score is carried over unchanged for the general target
    crowd = pd.read_parquet(root / "data/boston/ingest/scores.parquet")
    assert q.loc[q["group"] == "all", "q"].between(crowd["score"].min(), crowd["score"].max()).all()


def test_descriptions_and_embeddings_for_every_image(pp_project):
    root, _ = pp_project
    valid = set(pd.read_parquet(root / "data/nyc/valid/valid.parquet")["image_id"])
    for t in ("general", "women-crime", "elderly-traffic"):
        d = pd.read_parquet(root / f"descriptions/nyc/{t}.parquet")
        assert set(d["image_id"]) == valid and d["rating"].between(1, 10).all()
        assert d["text"].str.len().gt(20).all()
    img = pd.read_parquet(root / "data/nyc/embed/image.parquet")
    assert set(img["image_id"]) == valid


def test_evaluation_table_has_the_eight_targets(pp_project):
    root, _ = pp_project
    res = json.loads((root / "reports/evaluation/results.json").read_text())
    assert res["city"] == "boston"
    targets = res["targets"]
    assert len(targets) == 8 and set(targets) == {
        f"{g}-{s}" for g in ("women", "men", "elderly", "middle-aged") for s in ("traffic", "crime")
    }
    for r in targets.values():
        assert r["n"] > 0
        assert 0 <= r["general_acc"] <= 1 and 0 <= r["finetune_acc"] <= 1
    table = (root / "reports/evaluation/table.md").read_text()
    assert all(f"| {r['group']} | {r['scenario']} |" in table for r in targets.values())


def test_models_registered_and_every_image_scored_by_every_model(pp_project):
    root, _ = pp_project
    reg = json.loads((root / "registry/registered.json").read_text())
    names = {m["name"] for m in reg["models"]}
    assert "safety-general" in names and len(names) == 9
    for city in ("boston", "nyc"):
        pred = pd.read_parquet(root / f"maps/{city}/predictions.parquet")
        valid = set(pd.read_parquet(root / f"data/{city}/valid/valid.parquet")["image_id"])
        summary = json.loads((root / f"maps/{city}/summary.json").read_text())
        models = set(pred["model"])
        assert models == set(m["model"] for m in summary["models"].values())
        assert len(pred) == len(valid) * len(models)  # every image x every mapped model
        assert set(pred["image_id"]) == valid
        assert pred["score"].between(0, 10).all()
        assert (root / f"maps/{city}/index.html").is_file()
    assert "safety-general" in set(pd.read_parquet(root / "maps/nyc/predictions.parquet")["model"])


def test_drift_summary_for_nyc_against_boston(pp_project):
    root, _ = pp_project
    s = json.loads((root / "monitoring/reports/nyc/summary.json").read_text())
    assert s["verdict"] in ("drifted", "ok")
    assert 0 <= s["drift_share"] <= 1
    assert (root / "monitoring/reports/nyc/report.html").stat().st_size > 10_000
    m = json.loads((root / "metrics/drift/nyc.json").read_text())
    assert m["reference"] == "boston" and m["verdict"] == s["verdict"]
    ref = json.loads((root / "metrics/drift/boston.json").read_text())
    assert ref["verdict"] == "reference"
