"""The synthetic city: schema, determinism, stale files, and bad sizes."""

from __future__ import annotations

import logging
from datetime import datetime

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from simulate_helpers import SCENARIOS, SMALL

from perceptops.config import SyntheticParams
from perceptops.data.simulate import synthesize
from perceptops.errors import ConfigError


def _bytes(folder) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*.png"))}


def test_images_schema_and_files(small_city):
    city, out = small_city
    im = city.images
    assert list(im.columns) == ["source_id", "file", "lat", "lon", "heading", "captured_at"]
    assert len(im) == SMALL["n_images"] and im["source_id"].is_unique
    assert im["source_id"].str.fullmatch(r"demo-\d{6}").all()
    assert (im["file"] == im["source_id"] + ".png").all()
    sp = SyntheticParams()
    # inside the square of side extent_km around the centre (1 deg lat = 110.6 km)
    assert (abs(im["lat"] - sp.center[0]) <= sp.extent_km / 2 / 110.574 + 1e-9).all()
    assert im["lon"].between(sp.center[1] - 0.05, sp.center[1] + 0.05).all()
    assert im["heading"].between(0, 360).all()
    for ts in im["captured_at"]:
        datetime.fromisoformat(ts)
    for f in im["file"]:
        with Image.open(out / f) as img:
            assert img.format == "PNG" and img.mode == "RGB" and img.size == (320, 240)
    raw = (out / im["file"].iloc[0]).read_bytes()
    assert b"tIME" not in raw and b"tEXt" not in raw  # no timestamps or text chunks in the PNGs


def test_votes_schema(small_city):
    city, _ = small_city
    v = city.votes
    assert list(v.columns) == ["image_a", "image_b", "choice", "rater_id", "scenario", "gender", "age"]
    assert len(v) == SMALL["raters"] * SMALL["votes_per_rater"] * (1 + len(SCENARIOS))
    ids = set(city.images["source_id"])
    assert set(v["image_a"]) <= ids and set(v["image_b"]) <= ids
    assert (v["image_a"] != v["image_b"]).all()
    assert set(v["choice"]) <= {"a", "b", "equal"}
    assert set(v["scenario"]) == {"general", *SCENARIOS}
    assert set(v["gender"]) <= {"female", "male"}
    assert v["age"].between(18, 85).all() and v["age"].dtype == np.int64
    per_rater = v.groupby(["rater_id", "scenario"]).size()
    assert (per_rater == SMALL["votes_per_rater"]).all() and len(per_rater) == SMALL["raters"] * 3
    # each rater keeps the same attributes on every vote
    assert (v.groupby("rater_id")[["gender", "age"]].nunique() == 1).all().all()


def test_same_seed_same_bytes_other_seed_differs(small_city, tmp_path):
    city, out = small_city
    again = synthesize(SyntheticParams(**SMALL), SCENARIOS, tmp_path / "again")
    assert _bytes(out) == _bytes(tmp_path / "again")
    pd.testing.assert_frame_equal(city.images, again.images)
    pd.testing.assert_frame_equal(city.votes, again.votes)

    other = synthesize(SyntheticParams(**{**SMALL, "seed": 8}), SCENARIOS, tmp_path / "other")
    a, b = _bytes(out), _bytes(tmp_path / "other")
    assert sum(a[k] != b[k] for k in a) >= len(a) - 1
    assert not city.votes.equals(other.votes)
    assert not city.images[["lat", "lon"]].equals(other.images[["lat", "lon"]])


def test_stale_demo_files_removed_others_kept(tmp_path):
    (tmp_path / "demo-999999.png").write_bytes(b"old")
    (tmp_path / "notes.txt").write_text("keep me")
    synthesize(SyntheticParams(n_images=3, raters=2, votes_per_rater=2), SCENARIOS, tmp_path)
    assert sorted(p.name for p in tmp_path.glob("demo-*.png")) == [
        "demo-000000.png",
        "demo-000001.png",
        "demo-000002.png",
    ]
    assert (tmp_path / "notes.txt").read_text() == "keep me"


@pytest.mark.parametrize("key", ["width", "height"])
def test_too_small_image_size_is_a_config_error(tmp_path, key):
    with pytest.raises(ConfigError, match=f"synthetic.{key}"):
        synthesize(SyntheticParams(n_images=2, **{key: 16}), SCENARIOS, tmp_path)
    assert not list(tmp_path.glob("*.png"))


def test_custom_size_is_respected(tmp_path):
    city = synthesize(
        SyntheticParams(n_images=2, width=96, height=64, raters=2, votes_per_rater=1), [], tmp_path
    )
    with Image.open(tmp_path / city.images["file"].iloc[0]) as img:
        assert img.size == (96, 64)
    assert set(city.votes["scenario"]) == {"general"}


def test_unknown_scenario_falls_back_to_general_weights_with_a_log_line(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="perceptops.data.simulate"):
        city = synthesize(SyntheticParams(n_images=4, raters=3, votes_per_rater=2), ["flooding"], tmp_path)
    assert "flooding" in caplog.text and "general weights" in caplog.text
    assert set(city.votes["scenario"]) == {"general", "flooding"}


def test_no_placeholder_colour_left_in_any_image(small_city):
    _, out = small_city
    for p in sorted(out.glob("*.png")):
        a = np.asarray(Image.open(p))
        assert not np.all(a == (255, 0, 255), axis=2).any(), p.name


def test_contact_sheet_shows_the_city_scenes(tmp_path):
    from perceptops.data.simulate._sheet import contact_sheet

    sp = SyntheticParams(n_images=6, raters=2, votes_per_rater=1)
    sheet = contact_sheet(tmp_path / "sheet.png", sp, n=4, cols=2, gap=4)
    city = synthesize(sp, [], tmp_path / "city")
    with Image.open(sheet) as img:
        assert img.size == (2 * 320 + 4, 2 * 240 + 4)
        first = np.asarray(img.convert("RGB"))[:240, :320]
        fourth = np.asarray(img.convert("RGB"))[244:, 324:]
    assert np.array_equal(first, np.asarray(Image.open(tmp_path / "city" / city.images["file"].iloc[0])))
    assert np.array_equal(fourth, np.asarray(Image.open(tmp_path / "city" / city.images["file"].iloc[3])))
