"""Ingest + validate on the corrupt-file corpus: every item lands in valid or quarantine, with a reason."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from svi_fixtures import CORPUS_EXPECT, build_corpus, make_params

from perceptops.data import images
from perceptops.data.ingest import ingest_city
from perceptops.data.manifest import MANIFEST_COLUMNS, VALID_COLUMNS, read_valid
from perceptops.data.validate import validate_city
from perceptops.errors import DataError
from perceptops.paths import Layout
from perceptops.utils import md5_file, sha256_file


def setup_city(tmp, **city_kw):
    folder = build_corpus(tmp / "svi", tmp / "outside")
    (tmp / "proj").mkdir()
    (tmp / "proj" / "params.yaml").write_text("{}\n")
    validate = city_kw.pop("validate", {"max_bad_share": 1.0})
    params = make_params({"x": {"source": "folder", "path": str(folder), **city_kw}}, validate=validate)
    return params, Layout(tmp / "proj"), folder


@pytest.fixture(scope="module")
def validated(tmp_path_factory):
    params, lay, folder = setup_city(tmp_path_factory.mktemp("corpus"))
    report = ingest_city(params, lay, "x")
    metrics = validate_city(params, lay, "x")
    return params, lay, folder, report, metrics


def test_each_corpus_item_gets_its_verdict(validated):
    _, lay, _, _, _ = validated
    valid = read_valid(lay, "x")
    q = pd.read_csv(lay.quarantine("x"))
    got = {p: None for p in valid["path"]} | dict(zip(q["path"], q["reason"], strict=True))
    assert got == CORPUS_EXPECT
    assert q["detail"].notna().all() and (q["detail"].str.len() > 5).all()


def test_metrics_count_every_bad_input(validated):
    _, lay, _, report, m = validated
    assert m == json.loads(lay.metrics("validate/x").read_text())
    bad = {k: v for k, v in CORPUS_EXPECT.items() if v}
    assert m["total"] == len(CORPUS_EXPECT) and m["quarantined"] == len(bad)
    assert m["valid"] == len(CORPUS_EXPECT) - len(bad)
    expected_reasons: dict[str, int] = {}
    for r in bad.values():
        expected_reasons[r] = expected_reasons.get(r, 0) + 1
    assert m["by_reason"] == expected_reasons
    # the exact duplicate is quarantined and counted, but de-duplication is not "bad input"
    assert m["duplicates"] == 1
    assert m["bad_share"] == pytest.approx((len(bad) - 1) / len(CORPUS_EXPECT), abs=1e-6)
    assert m["passed"] is True and m["near_duplicates"] == 1
    assert m["ingest_issues"] == {"csv_rows_without_image": 1}
    assert m["expectations"]["lat_range"] == {"success": False, "unexpected": 1}
    assert m["expectations"]["image_id_unique"]["unexpected"] == 2  # dup_a / dup_b, reported by GX
    assert report["rejected_by_reason"] == {"path_escape": 1}


def test_valid_table_contract(validated):
    _, lay, folder, _, _ = validated
    valid = read_valid(lay, "x").set_index("path")
    assert list(read_valid(lay, "x").columns) == VALID_COLUMNS
    assert list(pd.read_parquet(lay.manifest("x")).columns) == MANIFEST_COLUMNS
    for p, row in valid.iterrows():
        assert row["image_id"] == sha256_file(folder / p)
        assert row["width"] == 96 and row["height"] == 80 and len(row["phash"]) == 16
    assert valid.loc["near_1.jpg", "near_duplicate_of"] == valid.loc["good_1.jpg", "image_id"]
    assert valid["near_duplicate_of"].notna().sum() == 1
    assert valid.loc["cmyk.jpg", "orig_mode"] == "CMYK" and valid.loc["gray16.png", "orig_mode"].startswith(
        "I"
    )
    assert valid.loc["good_1.jpg", "lat"] == 42.35 and valid.loc["good_1.jpg", "captured_at"] == "2024-05-01"
    assert pd.isna(valid.loc["good_4.jpg", "lat"]) and pd.isna(valid.loc["good_4.jpg", "captured_at"])


def test_escaping_symlink_is_never_read(tmp_path, monkeypatch):
    params, lay, folder = setup_city(tmp_path)
    read = []
    for name in ("hash_file", "read_header", "decode_rgb"):  # every way the data layer opens a file
        orig = getattr(images, name)
        monkeypatch.setattr(images, name, lambda p, *a, _f=orig, **k: read.append(str(p)) or _f(p, *a, **k))
    ingest_city(params, lay, "x")
    validate_city(params, lay, "x")
    assert len(read) > 30 and not any("escape" in p or "secret" in p for p in read)


def test_ingest_is_deterministic(tmp_path):
    params, lay, _ = setup_city(tmp_path)
    ingest_city(params, lay, "x")
    first = md5_file(lay.manifest("x"))
    ingest_city(params, lay, "x")
    assert md5_file(lay.manifest("x")) == first


def test_drop_near_duplicates_bbox_and_changed_files(tmp_path):
    params, lay, folder = setup_city(
        tmp_path,
        bbox=[42.0, -72.0, 42.355, -71.0],  # good_3 (lat 42.36) lies outside
        validate={"max_bad_share": 1.0, "near_duplicates": {"max_distance": 4, "action": "drop"}},
    )
    ingest_city(params, lay, "x")
    (folder / "good_4.jpg").write_bytes((folder / "good_4.jpg").read_bytes() + b"\0")  # edited after ingest
    m = validate_city(params, lay, "x")
    q = pd.read_csv(lay.quarantine("x")).set_index("path")
    assert q.loc["near_1.jpg", "reason"] == "near_duplicate" and "good_1.jpg" in q.loc["near_1.jpg", "detail"]
    assert q.loc["good_3.jpg", "reason"] == "outside_bbox"
    assert q.loc["good_4.jpg", "reason"] == "changed_since_ingest"
    assert "near_1.jpg" not in set(read_valid(lay, "x")["path"])
    # dropped near and exact duplicates are de-duplication, not bad input: they do not raise the bad share
    assert m["by_reason"]["duplicate"] == 1 and m["by_reason"]["near_duplicate"] == 1
    assert m["bad_share"] == pytest.approx((m["quarantined"] - 2) / m["total"], abs=1e-6)


def test_stage_fails_above_max_bad_share_after_writing(tmp_path):
    params, lay, _ = setup_city(tmp_path, validate={"max_bad_share": 0.1})
    ingest_city(params, lay, "x")
    with pytest.raises(DataError, match=r"validate.max_bad_share=0.1.*quarantine.csv"):
        validate_city(params, lay, "x")
    m = json.loads(lay.metrics("validate/x").read_text())
    assert m["passed"] is False and lay.quarantine("x").is_file()


def test_missing_files_and_empty_city(tmp_path):
    root = tmp_path / "pp1"
    (root / "images").mkdir(parents=True)
    (root / "scores.csv").write_text(
        "image,qs_safer,city,lat,lon\nimg1.jpg,5,Boston,42,-71\n../x.jpg,5,Boston,1,1\n"
    )
    (tmp_path / "proj").mkdir()
    (tmp_path / "proj" / "params.yaml").write_text("{}\n")
    lay = Layout(tmp_path / "proj")
    p = make_params({"b": {"source": "placepulse1", "path": str(root)}})
    r = ingest_city(p, lay, "b")
    assert r["manifest"] == 0 and r["rejected_by_reason"] == {"missing_file": 1, "path_escape": 1}
    with pytest.raises(DataError, match="bad"):
        validate_city(p, lay, "b")
    assert json.loads(lay.metrics("validate/b").read_text())["by_reason"] == {
        "missing_file": 1,
        "path_escape": 1,
    }
    (root / "scores.csv").write_text("image,qs_safer,city,lat,lon\n")
    ingest_city(p, lay, "b")
    with pytest.raises(DataError, match="has no images"):
        validate_city(p, lay, "b")
