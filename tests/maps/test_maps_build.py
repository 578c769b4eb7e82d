"""score_city on generated cities: outputs, traceability, and the bad inputs of issue 9."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from maps_support import ALL_TARGETS, SMALL_TARGETS, make_city
from PIL import Image

from perceptops.errors import ConfigError, DataError
from perceptops.maps.build import score_city
from perceptops.maps.scoring import PRED_COLUMNS
from perceptops.paths import Layout


def run(params, project, city, champions, msgs=None):
    return score_city(
        params, project, city, champions=champions, echo=(msgs.append if msgs is not None else print)
    )


def test_full_city_outputs(full_params, project, all_champions):
    """The demo's nine models: nine maps, eight difference maps, every version on the page."""
    params, champions = full_params, all_champions
    ids = make_city(project, "demo", 30)
    s = run(params, project, "demo", champions)
    out = Layout(project).maps_dir("demo")
    pred = pd.read_parquet(out / "predictions.parquet")
    assert list(pred.columns) == PRED_COLUMNS
    assert len(pred) == 30 * 9 and pred.groupby("target").size().eq(30).all()
    # every number traces to a registered name + version
    by_t = pred.drop_duplicates("target").set_index("target")
    for ch in champions:
        assert by_t.loc[ch.target, "model"] == ch.name and by_t.loc[ch.target, "version"] == ch.version
    assert pred["score"].between(0, 10).all()
    assert (pred["label"] == (pred["score"] >= params.evaluate.threshold).astype(int)).all()
    # scores are the model's, per image (not shuffled): recompute one target by hand
    pngs = sorted(p.name for p in out.glob("*.png"))
    assert len([p for p in pngs if p.startswith("safety-")]) == 9
    assert len([p for p in pngs if p.startswith("diff-")]) == 8
    img = Image.open(out / "safety-general.png")
    assert img.size[0] > 300 and img.size[1] > 300
    geo = json.loads((out / "predictions.geojson").read_text())
    assert geo["type"] == "FeatureCollection" and len(geo["features"]) == 30
    f0 = geo["features"][0]
    assert f0["geometry"]["type"] == "Point" and set(ALL_TARGETS) <= set(f0["properties"])
    assert geo["models"]["women-crime"]["version"] == by_t.loc["women-crime", "version"]
    summ = json.loads((out / "summary.json").read_text())
    assert summ["n_scored"] == 30 and summ["without_coordinates"] == 0
    w = summ["targets"]["women-crime"]
    assert len(w["largest_gaps"]) == params.maps.top_gaps
    gaps = [g["gap"] for g in w["largest_gaps"]]
    assert gaps == sorted(gaps)  # most negative (feels least safe) first
    assert {g["image_id"] for g in w["largest_gaps"]} <= set(ids)
    html = (out / "index.html").read_text()
    assert html.count('<img src="safety-') == 9 and html.count('<img src="diff-') == 8
    for ch in champions:
        assert f"{ch.name} v{ch.version}" in html
    assert s["targets"]["general"]["mean_score"] == pytest.approx(
        pred[pred.target == "general"]["score"].mean(), abs=1e-3
    )


def test_gap_matches_predictions(params, project, champions):
    make_city(project, "demo", 25, seed=3)
    s = run(params, project, "demo", champions)
    pred = pd.read_parquet(Layout(project).predictions("demo")).pivot(
        index="image_id", columns="target", values="score"
    )
    gap = pred["men-crime"] - pred["general"]
    assert s["targets"]["men-crime"]["mean_gap"] == pytest.approx(gap.mean(), abs=1e-3)
    worst = s["targets"]["men-crime"]["largest_gaps"][0]
    assert worst["image_id"] == gap.idxmin()


def test_images_without_coordinates_scored_not_mapped(params, project, champions):
    make_city(project, "demo", 20, no_coords=4)
    msgs: list[str] = []
    s = run(params, project, "demo", champions, msgs)
    out = Layout(project).maps_dir("demo")
    pred = pd.read_parquet(out / "predictions.parquet")
    assert pred["image_id"].nunique() == 20  # scored
    assert len(json.loads((out / "predictions.geojson").read_text())["features"]) == 16  # left off the map
    assert s["without_coordinates"] == 4
    assert "4 scored images have no coordinates" in (out / "index.html").read_text()
    assert any("no coordinates" in m for m in msgs)


def test_no_coordinates_at_all_still_scores(params, project, champions):
    make_city(project, "demo", 5, no_coords=5)
    s = run(params, project, "demo", champions)
    out = Layout(project).maps_dir("demo")
    assert not list(out.glob("*.png"))
    assert s["without_coordinates"] == 5 and len(pd.read_parquet(out / "predictions.parquet")) == 15


def test_group_without_champion_skipped(params, project, champions):
    make_city(project, "demo", 12)
    rest = [c for c in champions if c.target != "women-crime"]
    s = run(params, project, "demo", rest)
    out = Layout(project).maps_dir("demo")
    assert "women-crime" not in s["models"] and len(s["models"]) == 2
    assert not (out / "safety-women-crime.png").exists() and (out / "safety-men-crime.png").exists()
    assert "women-crime" not in set(pd.read_parquet(out / "predictions.parquet")["target"])


def test_missing_text_embeddings_skip_that_model(params, project, champions):
    make_city(project, "demo", 12, targets=[t for t in SMALL_TARGETS if t != "men-crime"])
    msgs: list[str] = []
    s = run(params, project, "demo", champions, msgs)
    assert "men-crime" not in s["models"] and len(s["models"]) == 2
    assert any("men-crime" in m and "text-men-crime" in m for m in s["skipped"])
    assert any("men-crime" in m for m in msgs)


def test_without_general_no_diff_maps(params, project, champions):
    make_city(project, "demo", 10)
    s = run(params, project, "demo", [c for c in champions if c.target != "general"])
    assert not list(Layout(project).maps_dir("demo").glob("diff-*.png"))
    assert "mean_gap" not in s["targets"]["women-crime"]


def test_city_of_one_image(params, project, champions):
    make_city(project, "demo", 1)
    s = run(params, project, "demo", champions)
    out = Layout(project).maps_dir("demo")
    assert s["n_scored"] == 1 and len(list(out.glob("safety-*.png"))) == 3
    assert len(s["targets"]["men-crime"]["largest_gaps"]) == 1
    assert len(json.loads((out / "predictions.geojson").read_text())["features"]) == 1


def test_no_valid_images(params, project, champions):
    make_city(project, "demo", 0)
    with pytest.raises(DataError, match="no valid images"):
        run(params, project, "demo", champions)


def test_city_never_validated(full_params, project, champions):
    with pytest.raises(DataError, match="validate@demo-night"):
        run(full_params, project, "demo-night", champions)


def test_no_champion_at_all(params, project):
    """Nothing promoted: a page and empty predictions that say so, not a crashed pipeline."""
    make_city(project, "demo", 3)
    msgs: list[str] = []
    s = run(params, project, "demo", [], msgs)
    out = Layout(project).maps_dir("demo")
    assert s["models"] == {} and s["n_scored"] == 0
    pred = pd.read_parquet(out / "predictions.parquet")
    assert pred.empty and list(pred.columns) == PRED_COLUMNS
    assert "No model was scored" in (out / "index.html").read_text()
    assert any("no model has a 'champion'" in m for m in msgs)


@pytest.mark.integration
def test_registry_without_champions(params, project, tmp_path, monkeypatch):
    from maps_support import load_model_dir

    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'empty.db'}")
    make_city(project, "demo", 3)
    msgs: list[str] = []
    s = score_city(params, project, "demo", loader=load_model_dir, echo=msgs.append)
    assert len(s["skipped"]) == 3 and all("champion" in m for m in s["skipped"])


@pytest.mark.parametrize("bad", ["new york", "a/b", "../x"])
def test_bad_city_name(params, project, champions, bad):
    with pytest.raises(ConfigError, match="city name"):
        run(params, project, bad, champions)


def test_unknown_city(params, project, champions):
    with pytest.raises(ConfigError, match="known cities: demo"):
        run(params, project, "paris", champions)


def test_rerun_removes_stale_maps(params, project, champions):
    make_city(project, "demo", 8)
    run(params, project, "demo", champions)
    run(params, project, "demo", [c for c in champions if c.target != "men-crime"])
    assert not (Layout(project).maps_dir("demo") / "safety-men-crime.png").exists()


def test_encoder_mismatch_refused(params, project, champions):
    from perceptops.utils import write_json

    make_city(project, "demo", 4)
    lay = Layout(project)
    write_json(
        lay.embed_dir("demo") / "encoders.json",
        {"image": {"id": "other", "dim": 12}, "text": {"id": "test-txt", "dim": 8}},
    )
    with pytest.raises(ConfigError, match="encode.image"):
        run(params, project, "demo", champions)


@pytest.mark.parametrize("place", ["Boston", "New York City"])
def test_place_pulse_coordinates(params, project, champions, shared, place):
    """Real Place Pulse 1.0 locations: the frame, the scale bar and the GeoJSON follow the city."""
    from perceptops.utils import write_parquet

    pp = pd.read_csv(shared / "data" / "placepulse1" / "scores.csv")
    pp = pp[pp["city"] == place].head(80)
    ids = make_city(project, "demo", len(pp), seed=5)
    lay = Layout(project)
    valid = pd.read_parquet(lay.valid_manifest("demo"))
    valid["lat"], valid["lon"] = pp["lat"].to_numpy(), pp["lon"].to_numpy()
    write_parquet(valid, lay.valid_manifest("demo"))
    s = run(params, project, "demo", champions)
    assert s["without_coordinates"] == 0 and s["n_scored"] == len(ids)
    geo = json.loads((lay.maps_dir("demo") / "predictions.geojson").read_text())
    lons = [f["geometry"]["coordinates"][0] for f in geo["features"]]
    lats = [f["geometry"]["coordinates"][1] for f in geo["features"]]
    assert min(lats) == pytest.approx(pp["lat"].min()) and max(lons) == pytest.approx(pp["lon"].max())
    assert Image.open(lay.maps_dir("demo") / "diff-women-crime.png").size[0] > 300


def test_scale_bar_lengths():
    from perceptops.maps.render import nice_length

    assert [nice_length(x) for x in (0.37, 1.0, 2.4, 7.9, 13.0, 0.0)] == [0.2, 1, 2, 5, 10, 0.1]
