"""Feature assembly from the outs (zero recomputation), screening, factors, settings."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from monitor_support import TARGETS, make_drift_city

from perceptops.errors import ConfigError
from perceptops.monitor.compare import screen
from perceptops.monitor.features import add_factor_flags, city_features, factor_columns
from perceptops.monitor.settings import DriftSettings, load_settings
from perceptops.paths import Layout


def test_features_read_outs_only(params, project, monkeypatch):
    """No scene parse, no encoder forward, no image decode: count every call (must stay 0)."""
    import perceptops.encode as enc
    import perceptops.scene as scene

    calls = {"n": 0}

    def count(*a, **k):
        calls["n"] += 1
        raise AssertionError("drift must not recompute features")

    monkeypatch.setattr(scene, "parse_images", count)
    monkeypatch.setattr(enc, "get_image_encoder", count)
    monkeypatch.setattr(enc, "get_text_encoder", count)
    ids = make_drift_city(project, "demo", 25, seed=1)
    cf = city_features(params, Layout(project), "demo", DriftSettings())
    assert calls["n"] == 0
    assert list(cf.table.index) == ids
    assert {
        "frac_car",
        "green_view",
        "brightness",
        "rating_general",
        "desc_words_men-crime",
        "score_women-crime",
    } <= set(cf.table.columns)
    assert cf.groups["brightness"] == "photometric" and cf.groups["sky_view"] == "scene"
    assert cf.embeddings.shape == (25, 16)
    assert sum(1 for p in cf.reads if "descriptions" in p) == len(TARGETS)
    assert cf.table["desc_words_general"].between(35, 70).all()


def test_missing_outs_are_listed_not_fatal(params, project):
    make_drift_city(project, "demo", 25, seed=1)
    lay = Layout(project)
    lay.predictions("demo").unlink()
    (lay.embed_dir("demo") / "image.parquet").unlink()
    cf = city_features(params, lay, "demo", DriftSettings())
    assert "scores" in cf.missing and "embeddings" in cf.missing and cf.embeddings is None
    assert not any(c.startswith("score_") for c in cf.table.columns)


def test_images_without_features_are_nan(params, project):
    ids = make_drift_city(project, "demo", 25, seed=1)
    lay = Layout(project)
    sc = pd.read_parquet(lay.scene("demo"))
    sc.iloc[3:].to_parquet(lay.scene("demo"), index=False)
    e = pd.read_parquet(lay.embed_dir("demo") / "image.parquet")
    e.iloc[:-2].to_parquet(lay.embed_dir("demo") / "image.parquet", index=False)
    cf = city_features(params, lay, "demo", DriftSettings())
    assert (
        cf.table.loc[ids[:3], "brightness"].isna().all() and cf.table.loc[ids[3:], "brightness"].notna().all()
    )
    assert np.isnan(cf.embeddings[-2:]).all() and not np.isnan(cf.embeddings[:-2]).any()


def test_factor_flags(params, project):
    make_drift_city(project, "demo", 40, seed=1)
    cf = city_features(params, Layout(project), "demo", DriftSettings())
    top = factor_columns(cf, 3)
    assert len(top) == 3 and ("darkness" in top or "good lighting" in top)
    cols = add_factor_flags(cf, top)
    for col in cols:
        assert set(cf.table[col].dropna().unique()) <= {0.0, 1.0}
    name = top[0]
    col = "factor_" + "_".join(name.split())
    assert cf.table[col].sum() == sum(name in fl for fl in cf.factor_lists)


@pytest.mark.parametrize(
    ("ref", "cur", "want"),
    [
        ([1.0, 2.0, 3.0], [np.nan, np.nan], "skip"),
        ([np.nan] * 3, [1.0, 2.0], "skip"),
        ([0.5, 0.5], [0.5, 0.5, 0.5], "skip"),
        ([0.5, 0.5], [0.9, 0.9], "drifted"),
        ([0.5, 0.5], [0.5, 0.7], "test"),
        ([1.0, np.nan, 2.0], [1.0, 3.0], "test"),
    ],
)
def test_screen(ref, cur, want):
    assert screen(pd.Series(ref), pd.Series(cur))[0] == want


def test_settings_unknown_key(project):
    (project / "monitoring" / "drift.yaml").write_text("groups: {scene: true, scenes: false}\n")
    with pytest.raises(ConfigError, match=r"groups\.scenes"):
        load_settings(project)


def test_settings_all_groups_off(project):
    off = (
        "groups: {scene: false, photometric: false, descriptions: false, scores: false, embeddings: false}\n"
    )
    (project / "monitoring" / "drift.yaml").write_text(off)
    with pytest.raises(ConfigError, match="at least one"):
        load_settings(project)


def test_settings_file_matches_defaults(repo_root):
    s = load_settings(repo_root)
    assert s.enabled() == ["scene", "photometric", "descriptions", "scores", "embeddings"]
    assert s == DriftSettings()
