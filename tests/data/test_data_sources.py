"""Sources: path safety, folder metadata CSVs, Place Pulse layouts, filter/limit, synthetic stand-in."""

from __future__ import annotations

import os

import pandas as pd
import pytest
from svi_fixtures import jpeg_bytes, make_params, noise_image

from perceptops.data.sources import list_source, safe_path, source_root
from perceptops.errors import ConfigError, DataError


def folder_city(path, **kw):
    return make_params({"x": {"source": "folder", "path": str(path), **kw}})


# ------------------------------------------------------------------------------- safe_path
def test_safe_path_accepts_inside_and_refuses_escapes(tmp_path):
    root = tmp_path / "root"
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "a.jpg").write_bytes(b"x")
    (tmp_path / "outside.jpg").write_bytes(b"y")
    (root / "link_in.jpg").symlink_to(root / "sub" / "a.jpg")
    (root / "link_out.jpg").symlink_to(tmp_path / "outside.jpg")
    (root / "dir_out").symlink_to(tmp_path)
    assert safe_path(root, "sub/a.jpg")[0] == root / "sub" / "a.jpg"
    assert safe_path(root, "link_in.jpg")[0] is not None
    for rel in (
        "../outside.jpg",
        "sub/../../outside.jpg",
        "link_out.jpg",
        "dir_out/outside.jpg",
        "/etc/passwd",
        "",
    ):
        p, why = safe_path(root, rel)
        assert p is None and why, rel


# ---------------------------------------------------------------------------------- folder
def write_images(folder, names):
    folder.mkdir(parents=True, exist_ok=True)
    for i, n in enumerate(names):
        (folder / n).parent.mkdir(parents=True, exist_ok=True)
        (folder / n).write_bytes(jpeg_bytes(noise_image(i)))


def test_folder_lists_images_by_content_and_sorts(project, tmp_path):
    f = tmp_path / "f"
    write_images(f, ["b.jpg", "a.JPG", "sub/c.png", "same.jpg", "same.png"])
    (f / "README.txt").write_text("not an image")
    lst = list_source(folder_city(f), project, "x")
    assert list(lst.candidates["source_id"]) == ["a", "b", "same.jpg", "same.png", "sub/c"]
    assert lst.issues == {"ignored_files": 1}
    assert lst.candidates["lat"].isna().all()


def test_folder_csv_with_lat_200_and_bad_values(project, tmp_path):
    f = tmp_path / "f"
    write_images(f, ["a.jpg", "b.jpg", "c.jpg"])
    (f / "images.csv").write_text(
        "id,lat,lon,heading,captured_at\na.jpg,42.1,-71.2,90,2024-01-01\nb,200,-71,x,\nghost,1,1,1,\n"
    )
    lst = list_source(folder_city(f), project, "x")
    c = lst.candidates.set_index("source_id")
    assert c.loc["a", "lat"] == 42.1 and c.loc["a", "captured_at"] == "2024-01-01"
    assert c.loc["b", "lat"] == 200.0  # kept as given: validation quarantines it (bad_lat)
    assert pd.isna(c.loc["b", "heading"]) and pd.isna(c.loc["c", "lat"])
    assert lst.issues == {"csv_bad_values": 1, "csv_rows_without_image": 1}


def test_folder_csv_missing_columns_is_counted_not_fatal(project, tmp_path):
    f = tmp_path / "f"
    write_images(f, ["a.jpg"])
    (f / "metadata.csv").write_text("id,lat\na,42.0\n")  # no lon, heading, captured_at
    lst = list_source(folder_city(f), project, "x")
    assert lst.issues == {"csv_missing_columns": 3}
    assert lst.candidates.loc[0, "lat"] == 42.0 and pd.isna(lst.candidates.loc[0, "lon"])
    (f / "metadata.csv").write_text("name,lat\na,42.0\n")  # no id column at all
    lst = list_source(folder_city(f), project, "x")
    assert lst.issues == {"csv_missing_columns": 1} and "no id column" in lst.notes[0]


def test_folder_limit_and_missing_path(project, tmp_path):
    f = tmp_path / "f"
    write_images(f, [f"{n}.jpg" for n in "dcba"])
    assert list(list_source(folder_city(f, limit=2), project, "x").candidates["source_id"]) == ["a", "b"]
    with pytest.raises(ConfigError, match="cities.x.path"):
        list_source(folder_city(tmp_path / "nope"), project, "x")
    with pytest.raises(ConfigError, match="cities.x.filter"):
        list_source(folder_city(f, filter={"city": "Boston"}), project, "x")


def test_source_root(project, tmp_path):
    p = make_params({"s": {"source": "synthetic"}, "f": {"source": "folder", "path": str(tmp_path)}})
    assert source_root(p, project, "s") == project.ingest_dir("s") / "images"
    assert source_root(p, project, "f") == tmp_path


# ---------------------------------------------------------------------------- placepulse
def pp1(tmp_path, csv: str):
    root = tmp_path / "pp1"
    write_images(root / "images", ["img1.jpg", "img2.jpg", "img3.jpg", "img10.jpg"])
    (root / "scores.csv").write_text(csv)
    return root


PP1_CSV = (
    "image,qs_safer,city,lat,lon\nimg1.jpg,7.4,Boston,42.38,-71.06\nimg2.jpg,3.1,New York City,40.7,-73.9\n"
    "img3.jpg,5.0,Boston,42.3,-71.1\nimg10.jpg,6.0,Boston,42.31,-71.0\nimg9.jpg,1.0,Boston,42.3,-71.0\n"
)


def test_placepulse1_filter_limit_scores(project, tmp_path):
    root = pp1(tmp_path, PP1_CSV)
    p = make_params(
        {"b": {"source": "placepulse1", "path": str(root), "filter": {"city": "Boston"}, "limit": 3}}
    )
    lst = list_source(p, project, "b")
    # sorted ids (img1 < img10 < img3 < img9), first 3; img9 has no file: ingest records it as missing
    assert list(lst.candidates["source_id"]) == ["img1", "img10", "img3"]
    assert list(lst.candidates["path"]) == ["images/img1.jpg", "images/img10.jpg", "images/img3.jpg"]
    assert dict(zip(lst.scores["source_id"], lst.scores["score"], strict=True)) == {
        "img1": 7.4,
        "img10": 6.0,
        "img3": 5.0,
    }


def test_placepulse1_bad_csvs(project, tmp_path):
    root = pp1(tmp_path, "image,city,lat,lon\nimg1.jpg,Boston,1,1\n")
    p = make_params({"b": {"source": "placepulse1", "path": str(root)}})
    with pytest.raises(DataError, match=r"scores.csv lacks required column\(s\) \['qs_safer'\]"):
        list_source(p, project, "b")
    (root / "scores.csv").write_text("image,qs_safer,city\nimg1.jpg,5,Boston\n")  # no lat/lon: counted
    lst = list_source(p, project, "b")
    assert lst.issues == {"csv_missing_columns": 2} and lst.candidates["lat"].isna().all()
    p = make_params({"b": {"source": "placepulse1", "path": str(root), "filter": {"country": "US"}}})
    with pytest.raises(ConfigError, match="cities.b.filter names column 'country'"):
        list_source(p, project, "b")


def test_placepulse2_votes(project, tmp_path):
    root = tmp_path / "pp2"
    write_images(root / "images", ["x1.jpg", "x2.jpg"])
    (root / "votes.csv").write_text(
        "left_id,right_id,winner\nx1,x2,left\nx2,x1,right\nx1,x1,equal\nx1,x2,draw\n"
    )
    lst = list_source(make_params({"p": {"source": "placepulse2", "path": str(root)}}), project, "p")
    assert list(lst.candidates["path"]) == ["images/x1.jpg", "images/x2.jpg"]
    v = lst.raw_votes
    assert list(v["choice"]) == ["a", "b", "equal", None]
    assert (v["scenario"] == "general").all() and v["rater_id"].isna().all()
    (root / "votes.csv").write_text("left_id,winner\nx1,left\n")
    with pytest.raises(DataError, match="right_id"):
        list_source(make_params({"p": {"source": "placepulse2", "path": str(root)}}), project, "p")


def test_synthetic_source_calls_synthesize(project, fake_simulate):
    p = make_params({"s": {"source": "synthetic", "synthetic": {"n_images": 6, "seed": 3}, "limit": 4}})
    lst = list_source(p, project, "s")
    assert len(lst.candidates) == 4 and lst.candidates["lat"].notna().all()
    assert fake_simulate.calls[0][1] == ["traffic", "crime"]
    assert (project.ingest_dir("s") / "images" / lst.candidates["path"][0]).is_file()
    assert {"image_a", "image_b", "choice", "rater_id", "scenario", "gender", "age"} <= set(
        lst.raw_votes.columns
    )


def test_symlink_to_folder_outside_is_not_walked(project, tmp_path):
    f = tmp_path / "f"
    write_images(f, ["a.jpg"])
    write_images(tmp_path / "elsewhere", ["secret.jpg"])
    os.symlink(tmp_path / "elsewhere", f / "linked")
    assert list(list_source(folder_city(f), project, "x").candidates["source_id"]) == ["a"]
