"""embed@city on a small folder city: outs, readers, cache reuse, bad inputs."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from encode_support import make_city

from perceptops.encode.embed import embed_city
from perceptops.encode.store import load_encoders, load_image_embeddings, load_text_embeddings
from perceptops.errors import DataError
from perceptops.utils import sha256_text


@pytest.fixture(autouse=True)
def _no_env_cache(monkeypatch):
    monkeypatch.delenv("PERCEPTOPS_CACHE", raising=False)


def test_embed_writes_outs_and_reruns_from_cache(tmp_path: Path):
    params, layout, ids = make_city(tmp_path, n=5)
    s = embed_city(params, layout, "town")
    n_targets = 1 + len(params.target_names())
    assert (s["image_forwards"], s["image_cache_hits"]) == (5, 0)
    # texts are shared across targets only where identical: every target's text here is distinct per
    # (target, i % 3) -> 3 unique texts per target
    assert s["text_forwards"] == 3 * n_targets
    enc = load_encoders(layout, "town")
    assert enc["image"]["dim"] == 178 and enc["text"]["dim"] == 2048
    got_ids, X = load_image_embeddings(layout, "town")
    assert got_ids == ids and X.shape == (5, 178) and X.dtype == np.float32
    t_ids, T = load_text_embeddings(layout, "town", "women-crime")
    assert t_ids == ids and T.shape == (5, 2048)
    schema = pq.read_schema(layout.embed_dir("town") / "image.parquet")
    assert schema.field("emb").type == pa.list_(pa.float32())
    tdf = pd.read_parquet(layout.embed_dir("town") / "text-general.parquet")
    assert list(tdf.columns) == ["image_id", "text_sha256", "emb"]
    assert tdf["text_sha256"].iloc[0] == sha256_text("general view 0: a busy road with cars and trees")
    before = {p.name: p.read_bytes() for p in layout.embed_dir("town").iterdir()}
    again = embed_city(params, layout, "town")
    assert (again["image_forwards"], again["text_forwards"]) == (0, 0)
    assert again["image_cache_hits"] == 5
    assert {p.name: p.read_bytes() for p in layout.embed_dir("town").iterdir()} == before


def test_same_description_in_two_targets_is_encoded_once(tmp_path: Path):
    same = ["the same words"] * 3
    params, layout, _ = make_city(tmp_path, n=3, texts={t: same for t in ["general", "women-crime"]})
    s = embed_city(params, layout, "town")
    n_targets = 1 + len(params.target_names())
    assert s["text_forwards"] == 1 + 3 * (n_targets - 2)


def test_empty_descriptions_are_skipped_and_counted(tmp_path: Path):
    params, layout, ids = make_city(tmp_path, n=3, texts={"general": ["ok text", None, "  "]})
    s = embed_city(params, layout, "town")
    assert s["skipped_descriptions"]["general"] == 2
    t_ids, T = load_text_embeddings(layout, "town", "general")
    assert t_ids == ids[:1] and T.shape == (1, 2048)


def test_missing_descriptions_name_the_stage(tmp_path: Path):
    params, layout, _ = make_city(tmp_path, n=2)
    layout.descriptions("town", "elderly-traffic").unlink()
    with pytest.raises(DataError, match=r"elderly-traffic\.parquet.*describe@town"):
        embed_city(params, layout, "town")


def _rewrite(path: Path, rows: list) -> None:
    t = pq.read_table(path)
    arr = pa.array(rows, type=pa.list_(pa.float32()))
    pq.write_table(t.set_column(t.column_names.index("emb"), "emb", arr), path)


def test_reader_refuses_nan(tmp_path: Path):
    params, layout, _ = make_city(tmp_path, n=2)
    embed_city(params, layout, "town")
    p = layout.embed_dir("town") / "image.parquet"
    rows = pq.read_table(p).column("emb").to_pylist()
    rows[1][3] = float("nan")
    _rewrite(p, rows)
    with pytest.raises(DataError, match=r"image\.parquet: 1 embeddings hold NaN"):
        load_image_embeddings(layout, "town")


def test_reader_refuses_wrong_width(tmp_path: Path):
    params, layout, _ = make_city(tmp_path, n=2)
    embed_city(params, layout, "town")
    p = layout.embed_dir("town") / "text-general.parquet"
    rows = pq.read_table(p).column("emb").to_pylist()
    rows[0] = rows[0][:100]
    _rewrite(p, rows)
    with pytest.raises(DataError, match=r"do not have width 2048.*has 100"):
        load_text_embeddings(layout, "town", "general")


def test_reader_refuses_width_differing_from_encoders_json(tmp_path: Path):
    params, layout, _ = make_city(tmp_path, n=2)
    embed_city(params, layout, "town")
    p = layout.embed_dir("town") / "encoders.json"
    enc = json.loads(p.read_text())
    enc["image"]["dim"] = 1024
    p.write_text(json.dumps(enc))
    with pytest.raises(DataError, match="width 1024"):
        load_image_embeddings(layout, "town")


def test_missing_outs_name_the_stage(tmp_path: Path):
    params, layout, _ = make_city(tmp_path, n=1)
    with pytest.raises(DataError, match=r"embed@town"):
        load_image_embeddings(layout, "town")


def test_all_descriptions_failed_gives_an_empty_table(tmp_path: Path):
    params, layout, _ = make_city(tmp_path, n=2, texts={"general": [None, None]})
    s = embed_city(params, layout, "town")
    assert s["skipped_descriptions"]["general"] == 2
    t_ids, T = load_text_embeddings(layout, "town", "general")
    assert t_ids == [] and T.shape == (0, 2048)
