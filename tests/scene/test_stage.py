"""scene@city on a small folder city built here: outputs, re-run from cache, bad inputs."""

from pathlib import Path

import pandas as pd
import pytest
from scene_support import street

from perceptops.config import load_params, parse_params
from perceptops.errors import DataError
from perceptops.paths import Layout
from perceptops.scene import SCENE_COLUMNS
from perceptops.scene.parse import parse_city
from perceptops.utils import sha256_file
from support import REPO_ROOT


def make_city(root: Path, n: int = 4) -> tuple:
    imgs = root / "photos"
    imgs.mkdir(parents=True)
    rows = []
    variants = [street(), street(night=True), street(car=False), street(person=True), street(w=200, h=150)]
    for i in range(n):
        p = imgs / f"im{i}.png"
        variants[i % len(variants)].save(p)
        rows.append({"image_id": sha256_file(p), "path": p.name})
    layout = Layout(root)
    layout.valid_dir("town").mkdir(parents=True)
    pd.DataFrame(rows).to_parquet(layout.valid_manifest("town"), index=False)
    d = load_params(REPO_ROOT / "params.yaml").model_dump(by_alias=True)
    d["cities"]["town"] = {"source": "folder", "path": str(imgs)}
    d["project"]["cache_dir"] = str(root / "cache")
    return parse_params(d), layout, rows


def test_scene_stage_writes_table_and_reruns_from_cache(tmp_path, monkeypatch):
    monkeypatch.delenv("PERCEPTOPS_CACHE", raising=False)
    params, layout, rows = make_city(tmp_path)
    stats = parse_city(params, layout, "town")
    assert (stats["images"], stats["forwards"], stats["cache_hits"]) == (4, 4, 0)
    df = pd.read_parquet(layout.scene("town"))
    assert list(df.columns) == ["image_id", *SCENE_COLUMNS]
    assert df["image_id"].tolist() == [r["image_id"] for r in rows]
    assert (tmp_path / "cache" / "scene" / "scene.sqlite").is_file()
    first = layout.scene("town").read_bytes()
    again = parse_city(params, layout, "town")
    assert (again["forwards"], again["cache_hits"]) == (0, 4)
    assert layout.scene("town").read_bytes() == first  # deterministic bytes: DVC sees no change


def test_cached_images_are_not_even_read(tmp_path, monkeypatch):
    monkeypatch.delenv("PERCEPTOPS_CACHE", raising=False)
    params, layout, rows = make_city(tmp_path, n=2)
    parse_city(params, layout, "town")
    for r in rows:
        (tmp_path / "photos" / r["path"]).unlink()
    assert parse_city(params, layout, "town")["cache_hits"] == 2


def test_image_gone_since_validation_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.delenv("PERCEPTOPS_CACHE", raising=False)
    params, layout, rows = make_city(tmp_path, n=2)
    (tmp_path / "photos" / rows[1]["path"]).unlink()
    with pytest.raises(DataError, match=r"im1\.png.*validate@town"):
        parse_city(params, layout, "town")


def test_missing_valid_table_names_the_stage(tmp_path, monkeypatch):
    monkeypatch.delenv("PERCEPTOPS_CACHE", raising=False)
    params, layout, _ = make_city(tmp_path, n=1)
    layout.valid_manifest("town").unlink()
    with pytest.raises(DataError, match=r"validate@town"):
        parse_city(params, layout, "town")
