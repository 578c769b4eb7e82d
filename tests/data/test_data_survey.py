"""Surveys: one individual-level schema from every source, dropped votes counted, per-group Q-scores."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from svi_fixtures import jpeg_bytes, make_params, noise_image

from perceptops.config import GroupParams
from perceptops.data.ingest import ingest_city
from perceptops.data.survey import compute_qscores, group_mask, map_votes, survey_city
from perceptops.data.validate import validate_city
from perceptops.errors import DataError
from perceptops.paths import Layout

H = {k: k * 64 for k in "abcde"}  # fake image ids (64 chars)


def frames():
    manifest = pd.DataFrame({"source_id": list("abcde"), "image_id": [H[k] for k in "abcde"]})
    valid_ids = {H["a"], H["b"], H["c"], H["d"]}  # e is quarantined
    return manifest, valid_ids


def test_map_votes_counts_and_drops_each_bad_vote():
    manifest, valid_ids = frames()
    raw = pd.DataFrame(
        [
            ("a", "b", "a", "r1", "general"),  # kept
            (
                H["a"],
                "c",
                "equal",
                "r1",
                "traffic",
            ),  # image id on one side, source id on the other: kept (tie)
            ("a", "a", "b", "r2", "general"),  # self-pair
            ("b", H["b"], "a", "r2", "general"),  # self-pair after mapping
            ("a", "zzz", "a", "r2", "general"),  # unknown id
            ("a", "e", "b", "r3", "general"),  # quarantined image
            ("c", "d", "left", "r3", "general"),  # not a choice
            ("c", "d", "b", "r3", "weather"),  # scenario not in params
            ("c", "d", " B ", None, None),  # kept: choice normalised, scenario defaults to general
        ],
        columns=["image_a", "image_b", "choice", "rater_id", "scenario"],
    )
    params = make_params({"x": {"source": "synthetic"}})
    votes, st = map_votes(raw, manifest, valid_ids, params)
    assert st == {
        "votes_in": 9,
        "bad_choice": 1,
        "self_pairs": 2,
        "unknown_ids": 1,
        "quarantined_ids": 1,
        "unknown_scenario": 1,
        "votes_used": 3,
        "ties": 1,
    }
    assert list(votes["image_a"]) == [H["a"], H["a"], H["c"]] and list(votes["choice"]) == ["a", "equal", "b"]
    assert list(votes["scenario"]) == ["general", "traffic", "general"]
    # rater attributes named by group filters exist even when the source has none (Place Pulse 2.0)
    assert {"gender", "age"} <= set(votes.columns) and votes["gender"].isna().all()
    assert votes["rater_id"].tolist()[:2] == ["r1", "r1"] and pd.isna(votes["rater_id"].iloc[2])


def test_group_filters():
    v = pd.DataFrame(
        {
            "gender": ["Female", "male", None, "female"],
            "age": [70, 40, 80, None],
            "region": ["n", "s", "n", "e"],
        }
    )
    m = lambda f: group_mask(v, GroupParams(persona="p", filter=f)).tolist()  # noqa: E731
    assert m({"gender": "female"}) == [True, False, False, True]
    assert m({"age": {"min": 65}}) == [True, False, True, False]
    assert m({"age": {"min": 40, "max": 64}}) == [False, True, False, False]
    assert m({"region": ["n", "e"]}) == [True, False, True, True]
    assert m({"gender": "female", "age": {"min": 65}}) == [True, False, False, False]
    assert m({"age": 40}) == [False, True, False, False]
    assert m({"household": "single"}) == [False] * 4  # attribute absent: nobody
    assert group_mask(v, None).all()


def test_qscores_per_group_and_scenario_with_min_comparisons():
    rows = []
    for g, age in (("female", 30), ("male", 70)):
        for scen in ("general", "traffic"):
            # women prefer x, men prefer y; z only ever appears once
            winner = "a" if g == "female" else "b"
            rows += [("x", "y", winner, f"{g}1", scen, g, age)] * 3
    rows.append(("x", "z", "a", "female1", "general", "female", 30))
    v = pd.DataFrame(rows, columns=["image_a", "image_b", "choice", "rater_id", "scenario", "gender", "age"])
    p = make_params({"c": {"source": "synthetic"}}, survey={"min_comparisons": 2})
    qs, scored = compute_qscores(v, p)
    q = qs.set_index(["group", "scenario", "image_id"])["q"]
    assert q[("women", "traffic", "x")] > q[("women", "traffic", "y")]
    assert q[("men", "traffic", "x")] < q[("men", "traffic", "y")]
    assert q[("elderly", "general", "y")] == q[("men", "general", "y")]
    assert ("women", "general", "z") not in q.index  # one comparison < survey.min_comparisons
    assert scored["all/general"] == 2 and "all/crime" not in scored
    p = make_params({"c": {"source": "synthetic"}}, survey={"method": "bradley_terry"})
    bt = compute_qscores(v, p)[0].set_index(["group", "scenario", "image_id"])["q"]
    assert bt[("women", "traffic", "x")] > 5 > bt[("women", "traffic", "y")]


def project_at(tmp_path):
    (tmp_path / "proj").mkdir()
    (tmp_path / "proj" / "params.yaml").write_text("{}\n")
    return Layout(tmp_path / "proj")


def test_synthetic_city_survey(tmp_path, fake_simulate):
    lay = project_at(tmp_path)
    p = make_params({"s": {"source": "synthetic", "synthetic": {"n_images": 10, "seed": 5}}})
    ingest_city(p, lay, "s")
    validate_city(p, lay, "s")
    m = survey_city(p, lay, "s")
    votes = pd.read_parquet(lay.votes("s"))
    assert list(votes.columns[:5]) == ["image_a", "image_b", "choice", "rater_id", "scenario"]
    assert {"gender", "age"} <= set(votes.columns)
    assert votes["image_a"].str.fullmatch(r"[0-9a-f]{64}").all()
    qs = pd.read_parquet(lay.qscores("s"))
    assert list(qs.columns) == ["image_id", "group", "scenario", "q", "wins", "losses", "ties", "n"]
    assert {"all", "women", "men", "elderly"} <= set(qs["group"])
    assert qs["q"].between(0, 10).all()
    assert m["origin"] == "synthetic_votes" and m["votes_in"] == 120 and m["raters"] == 12
    assert m["votes_used"] == len(votes) and m["ties"] == int((votes["choice"] == "equal").sum())
    assert json.loads(lay.metrics("survey/s").read_text()) == m


def pp1_city(tmp_path, n=6, duplicate=False):
    root = tmp_path / "pp1"
    (root / "images").mkdir(parents=True)
    lines = ["image,qs_safer,city,lat,lon"]
    for i in range(n):
        (root / "images" / f"img{i}.jpg").write_bytes(jpeg_bytes(noise_image(100 + i)))
        lines.append(f"img{i}.jpg,{2 + i},Boston,42.3,-71.0")
    if duplicate:  # Place Pulse 1.0 has the same photo for two entries at one location, with two scores
        (root / "images" / "imgdup.jpg").write_bytes((root / "images" / "img0.jpg").read_bytes())
        lines.append("imgdup.jpg,9,Boston,42.3,-71.0")
    (root / "scores.csv").write_text("\n".join(lines) + "\n")
    return root


def test_placepulse1_panel_and_crowd_scores(tmp_path, fake_simulate):
    lay = project_at(tmp_path)
    p = make_params(
        {
            "b": {
                "source": "placepulse1",
                "path": str(pp1_city(tmp_path, duplicate=True)),
                "panel": {"seed": 4},
            }
        }
    )
    ingest_city(p, lay, "b")
    validate_city(p, lay, "b")
    with pytest.raises(DataError, match=r"scene@b"):
        survey_city(p, lay, "b")
    valid = pd.read_parquet(lay.valid_manifest("b"))
    scene = pd.DataFrame(
        {
            "image_id": valid["image_id"],
            "frac_road": np.linspace(0, 1, len(valid)),
            "green_view": 0.2,
            "backend": "pixel",
        }
    )
    lay.scene_dir("b").mkdir(parents=True)
    scene.to_parquet(lay.scene("b"), index=False)
    m = survey_city(p, lay, "b")
    _, items, panel, scenarios = fake_simulate.calls[-1]
    assert {"image_id", "score", "frac_road", "green_view"} <= set(items.columns) and "backend" not in items
    assert panel.seed == 4 and scenarios == ["traffic", "crime"]
    assert m["origin"] == "simulated_panel" and m["votes_used"] == 96
    qs = pd.read_parquet(lay.qscores("b"))
    crowd = qs[(qs["group"] == "all") & (qs["scenario"] == "general")]
    by_source = dict(zip(valid["image_id"], valid["source_id"], strict=True))
    # img0 and imgdup are the same bytes: one image whose crowd score is the mean of both entries (2 and 9)
    assert {by_source[i]: q for i, q in zip(crowd["image_id"], crowd["q"], strict=True)} == {
        "img0": 5.5,
        **{f"img{i}": 2.0 + i for i in range(1, 6)},
    }
    assert dict(zip(items["image_id"].map(by_source), items["score"], strict=True))["img0"] == 5.5
    assert {"women", "men"} <= set(qs["group"])

    p_off = make_params(
        {"b": {"source": "placepulse1", "path": str(lay.root.parent / "pp1"), "panel": {"enabled": False}}}
    )
    m = survey_city(p_off, lay, "b")
    assert m["origin"] == "none" and m["votes_used"] == 0
    qs = pd.read_parquet(lay.qscores("b"))
    assert set(qs["group"]) == {"all"} and len(qs) == 6 and (qs["n"] == 0).all()


def test_real_survey_file_replaces_the_panel(tmp_path, fake_simulate):
    lay = project_at(tmp_path)
    root = pp1_city(tmp_path, n=4)
    survey = tmp_path / "stockholm.csv"
    survey.write_text(
        "image_a,image_b,choice,rater_id,scenario,gender,age\n"
        "img0,img1,a,r1,crime,female,70\nimg1,img2,b,r2,general,male,30\nimg3,img3,a,r2,general,male,30\n"
        "img0,nope,a,r2,general,male,30\n"
    )
    p = make_params({"b": {"source": "placepulse1", "path": str(root), "survey": str(survey)}})
    ingest_city(p, lay, "b")
    validate_city(p, lay, "b")
    m = survey_city(p, lay, "b")  # no scene parse needed: the survey file replaces the simulated panel
    assert (
        m["origin"] == "survey_file"
        and m["votes_used"] == 2
        and m["self_pairs"] == 1
        and m["unknown_ids"] == 1
    )
    assert not [c for c in fake_simulate.calls if c[0] == "panel"]
    qs = pd.read_parquet(lay.qscores("b"))
    assert set(zip(qs["group"], qs["scenario"], strict=True)) >= {
        ("women", "crime"),
        ("elderly", "crime"),
        ("men", "general"),
    }
    survey.write_text("image_a,choice\nimg0,a\n")
    with pytest.raises(DataError, match=r"lacks column\(s\) \['image_b'\]"):
        survey_city(p, lay, "b")


def test_with_the_real_simulator(tmp_path):
    """The same path through the real perceptops.data.simulate (small sizes)."""
    lay = project_at(tmp_path)
    city = {
        "source": "synthetic",
        "synthetic": {"n_images": 14, "seed": 3, "raters": 12, "votes_per_rater": 20},
    }
    root = pp1_city(tmp_path, n=8)
    p = make_params({"s": city, "b": {"source": "placepulse1", "path": str(root)}})
    ingest_city(p, lay, "s")
    m = validate_city(p, lay, "s")
    assert m["valid"] == 14 and m["passed"]
    s = survey_city(p, lay, "s")
    assert s["origin"] == "synthetic_votes" and s["votes_used"] > 100 and s["raters"] == 12
    # the real panel on real-style inputs: crowd scores + a generated scene frame
    ingest_city(p, lay, "b")
    validate_city(p, lay, "b")
    valid = pd.read_parquet(lay.valid_manifest("b"))
    rng = np.random.default_rng(0)
    cols = ["car_presence", "person_presence", "road_share", "green_view", "brightness", "sidewalk_share"]
    scene = pd.DataFrame({"image_id": valid["image_id"], **{c: rng.random(len(valid)) for c in cols}})
    lay.scene_dir("b").mkdir(parents=True)
    scene.to_parquet(lay.scene("b"), index=False)
    b = survey_city(p, lay, "b")
    assert b["origin"] == "simulated_panel" and b["votes_used"] > 0
    assert b["unknown_ids"] == 0 and b["quarantined_ids"] == 0
    qs = pd.read_parquet(lay.qscores("b"))
    assert {"women", "men", "elderly"} <= set(qs["group"]) and {"traffic", "crime"} <= set(qs["scenario"])


def test_folder_city_without_votes_writes_empty_tables(tmp_path):
    lay = project_at(tmp_path)
    root = tmp_path / "imgs"
    root.mkdir()
    for i in range(3):
        (root / f"s{i}.jpg").write_bytes(jpeg_bytes(noise_image(200 + i)))
    p = make_params({"f": {"source": "folder", "path": str(root)}})
    ingest_city(p, lay, "f")
    validate_city(p, lay, "f")
    m = survey_city(p, lay, "f")
    assert m["origin"] == "none" and m["votes_in"] == 0 and m["scored"] == {}
    votes, qs = pd.read_parquet(lay.votes("f")), pd.read_parquet(lay.qscores("f"))
    assert len(votes) == 0 and {"image_a", "image_b", "choice", "gender", "age"} <= set(votes.columns)
    assert len(qs) == 0 and list(qs.columns) == [
        "image_id",
        "group",
        "scenario",
        "q",
        "wins",
        "losses",
        "ties",
        "n",
    ]
