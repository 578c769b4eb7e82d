"""Drift reports on generated cities: the done-when checks and the bad inputs of issue 8."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from monitor_support import make_drift_city

from perceptops.errors import ConfigError, DataError
from perceptops.monitor.run import drift_city, self_split
from perceptops.monitor.settings import DriftSettings
from perceptops.paths import Layout
from perceptops.scene import PHOTOMETRIC_COLUMNS

# fewer columns where the test is about the plumbing, not the feature set (each column is a plot)
LIGHT = DriftSettings.model_validate(
    {
        "groups": {"scene": False, "descriptions": False, "embeddings": False},
        "embeddings": {"plot_sample": 50},
    }
)


@pytest.mark.integration
def test_shifted_city_drifted_fresh_sample_not(params, project):
    """Done when: a darker city is flagged drifted, a fresh sample of the reference's style is not."""
    make_drift_city(project, "demo", 120, seed=1)
    make_drift_city(project, "demo-night", 60, seed=2, light=-0.3)
    make_drift_city(project, "demo-traffic", 60, seed=3)  # same distribution as demo, new images
    every = DriftSettings.model_validate(
        {"descriptions": {"top_factors": 3}, "embeddings": {"plot_sample": 40}}
    )
    night = drift_city(params, project, "demo-night", settings=every)
    fresh = drift_city(params, project, "demo-traffic", settings=every)
    assert night["verdict"] == "drifted" and night["reference"] == "demo"
    assert fresh["verdict"] == "ok", fresh["drifted_features"]
    assert night["drift_share"] >= params.drift.drift_share > fresh["drift_share"]
    drifted = {f["feature"] for f in night["drifted_features"]}
    assert {"brightness", "rating_general", "score_general", "image_embeddings"} <= drifted
    assert any(f.startswith("factor_") for f in drifted)  # the factors named shift at night
    bright = next(f for f in night["features"] if f["feature"] == "brightness")
    assert bright["shift_sd"] < -1  # by how much: darker by more than one reference sd
    assert set(night["groups"]) == {"scene", "photometric", "descriptions", "scores", "embeddings"}
    out = Layout(project).drift_dir("demo-night")
    assert (out / "report.html").stat().st_size > 100_000
    rep = json.loads((out / "report.json").read_text())
    assert any("EmbeddingsDrift" in m.get("metric_name", "") for m in rep["metrics"])
    metric = json.loads(Layout(project).metrics("drift/demo-night").read_text())
    assert metric["verdict"] == "drifted" and metric["drifted_features"] == night["n_drifted"]
    assert json.loads((out / "summary.json").read_text())["verdict"] == "drifted"
    # read from the outs only: every input is a pipeline out, nothing recomputed
    assert night["recomputed"] == 0
    assert (
        "data/demo/scene/scene.parquet" in night["inputs"]
        and "maps/demo-night/predictions.parquet" in night["inputs"]
    )


@pytest.mark.integration
def test_traffic_shift_drifted(params, project):
    make_drift_city(project, "demo", 80, seed=1)
    make_drift_city(project, "demo-traffic", 40, seed=4, traffic=5.0)
    scene_only = {"photometric": False, "descriptions": False, "scores": False, "embeddings": False}
    s = drift_city(
        params, project, "demo-traffic", settings=DriftSettings.model_validate({"groups": scene_only})
    )
    assert s["verdict"] == "drifted"
    assert "frac_car" in {f["feature"] for f in s["drifted_features"]}


@pytest.mark.integration
def test_reference_self_check(params, project):
    """Two random halves of one city: no false alarm, also on discrete features (ratings 1-10, counts)."""
    make_drift_city(project, "demo", 120, seed=1)
    halves = DriftSettings.model_validate(
        {"groups": {"scene": False, "embeddings": False}, "descriptions": {"top_factors": 2}}
    )
    s = drift_city(params, project, "demo", settings=halves)
    assert s["verdict"] == "reference" and s["self_check"] == "ok"
    assert s["drift_share"] < 0.15, s["drifted_features"]
    assert s["n_reference"] + s["n_current"] == 120
    rating = next(f for f in s["features"] if f["feature"] == "rating_general")
    assert rating["method"] == "ks"  # not chi-square on sparse rating counts
    assert json.loads(Layout(project).metrics("drift/demo").read_text())["verdict"] == "reference"


@pytest.mark.integration
def test_all_nan_and_constant_features_skipped(params, project):
    make_drift_city(project, "demo", 60, seed=1)
    make_drift_city(project, "demo-night", 40, seed=2)
    lay = Layout(project)
    sc = pd.read_parquet(lay.scene("demo-night"))
    sc["contrast"] = np.nan  # all NaN in the current city
    sc["sharpness"] = 0.5  # constant in both, same value
    sc["entropy"] = 7.0  # constant in both, different values
    sc.to_parquet(lay.scene("demo-night"), index=False)
    ref = pd.read_parquet(lay.scene("demo"))
    ref["sharpness"] = 0.5
    ref["entropy"] = 5.0
    ref.to_parquet(lay.scene("demo"), index=False)
    s = drift_city(params, project, "demo-night", settings=LIGHT)
    skipped = {x["feature"]: x["reason"] for x in s["skipped"]}
    assert "NaN" in skipped["contrast"] and "constant" in skipped["sharpness"]
    ent = next(f for f in s["features"] if f["feature"] == "entropy")
    assert ent["drifted"] and ent["method"] == "constant"
    assert "contrast" not in {f["feature"] for f in s["features"]}


def test_only_unusable_features(params, project):
    make_drift_city(project, "demo", 30, seed=1)
    make_drift_city(project, "demo-night", 30, seed=2)
    lay = Layout(project)
    for c in ("demo", "demo-night"):
        sc = pd.read_parquet(lay.scene(c))
        for col in PHOTOMETRIC_COLUMNS:
            sc[col] = np.nan
        sc.to_parquet(lay.scene(c), index=False)
    only = DriftSettings.model_validate(
        {"groups": {"scene": False, "descriptions": False, "scores": False, "embeddings": False}}
    )
    with pytest.raises(DataError, match="no usable drift features"):
        drift_city(params, project, "demo-night", settings=only)


def test_constant_but_different_only_is_drift_without_report(params, project):
    make_drift_city(project, "demo", 30, seed=1)
    make_drift_city(project, "demo-night", 30, seed=2)
    lay = Layout(project)
    for c, v in (("demo", 0.7), ("demo-night", 0.1)):
        sc = pd.read_parquet(lay.scene(c))
        for col in ("contrast", "colourfulness", "saturation", "sharpness", "edge_density", "entropy"):
            sc[col] = np.nan
        sc["brightness"] = v
        sc.to_parquet(lay.scene(c), index=False)
    only = DriftSettings.model_validate(
        {"groups": {"scene": False, "descriptions": False, "scores": False, "embeddings": False}}
    )
    s = drift_city(params, project, "demo-night", settings=only)
    assert s["verdict"] == "drifted" and s["n_features"] == 1
    assert not (lay.drift_dir("demo-night") / "report.html").exists()


def test_too_few_images_names_minimum(params, project):
    make_drift_city(project, "demo", 60, seed=1)
    make_drift_city(project, "demo-night", 7, seed=2)
    with pytest.raises(DataError, match=r"only 7 valid images.*drift.min_images = 20"):
        drift_city(params, project, "demo-night", settings=LIGHT)


def test_no_valid_images(params, project):
    make_drift_city(project, "demo", 60, seed=1)
    make_drift_city(project, "demo-night", 0, seed=2)
    with pytest.raises(DataError, match=r"no valid images.*drift.min_images = 20"):
        drift_city(params, project, "demo-night", settings=LIGHT)


def test_reference_too_small_for_halves(params, project):
    make_drift_city(project, "demo", 30, seed=1)
    with pytest.raises(DataError, match=r"each half of reference city 'demo'.*min_images = 20"):
        drift_city(params, project, "demo", settings=LIGHT)


def test_reference_never_ingested(params, project):
    make_drift_city(project, "demo-night", 30, seed=2)
    with pytest.raises(DataError, match=r"reference city 'demo' was never ingested.*validate@demo"):
        drift_city(params, project, "demo-night", settings=LIGHT)


def test_city_never_ingested(params, project):
    with pytest.raises(DataError, match=r"city 'demo-night' was never ingested"):
        drift_city(params, project, "demo-night", settings=LIGHT)


@pytest.mark.parametrize("bad", ["new york", "a/b", "../demo", "Demo"])
def test_bad_city_names(params, project, bad):
    with pytest.raises(ConfigError, match="city name"):
        drift_city(params, project, bad, settings=LIGHT)
    with pytest.raises(ConfigError, match="reference city name"):
        drift_city(params, project, "demo-night", reference=bad, settings=LIGHT)


def test_unknown_reference(params, project):
    with pytest.raises(ConfigError, match="known cities"):
        drift_city(params, project, "demo-night", reference="paris", settings=LIGHT)


def test_self_split_disjoint_and_seeded(params, project):
    from perceptops.monitor.features import city_features

    make_drift_city(project, "demo", 41, seed=1)
    cf = city_features(params, Layout(project), "demo", DriftSettings())
    a, b = self_split(cf, 0.5, 42)
    a2, _ = self_split(cf, 0.5, 42)
    assert set(a.table.index).isdisjoint(b.table.index) and len(a.table) + len(b.table) == 41
    assert list(a.table.index) == list(a2.table.index)
    assert a.embeddings.shape == (len(a.table), 16)
    pos = cf.table.index.get_loc(a.table.index[0])
    assert np.allclose(a.embeddings[0], cf.embeddings[pos])


@pytest.mark.parametrize(
    ("method", "p"),
    [("K-S p_value", True), ("ks", True), ("chi-square p_value", True), ("Z-test p_value", True), ("z", True),
     ("wasserstein", False), ("Wasserstein distance (normed)", False), ("Jensen-Shannon distance", False),
     ("psi", False)],
)  # fmt: skip
def test_p_value_methods(method, p):
    from perceptops.monitor.compare import is_p_value

    assert is_p_value(method) is p
