"""describe_city: outputs per target, the cache on re-runs, --only, bad inputs, GX checks, CLI, dvc stage."""

from __future__ import annotations

import json
import subprocess

import pandas as pd
import pytest

from perceptops.config import load_params
from perceptops.describe.run import COLUMNS, describe_city
from perceptops.errors import ConfigError, DataError
from perceptops.paths import Layout
from perceptops.utils import md5_file


def outputs(root):
    d = root / "descriptions" / "c"
    return {f.name: md5_file(f) for f in sorted(d.iterdir())}


def test_scene_city_outputs_and_byte_stable_rerun(city_factory):
    root = city_factory(n=4)
    p, layout = load_params(root / "params.yaml"), Layout(root)
    m = describe_city(p, layout, "c", progress=False)
    targets = ["general", *p.target_names()]
    assert sorted(m) == sorted(targets)
    assert all(m[t]["described"] == 4 and m[t]["calls"] == 4 and m[t]["cached"] == 0 for t in targets)
    valid = pd.read_parquet(root / "data" / "c" / "valid" / "valid.parquet")
    for t in targets:
        df = pd.read_parquet(layout.descriptions("c", t))
        assert list(df.columns) == COLUMNS
        assert sorted(df["image_id"]) == sorted(valid["image_id"]) and df["image_id"].is_unique
        assert df["rating"].between(1, 10).all() and (df["text"].str.len() > 20).all()
        assert df["backend"].eq("scene").all() and df["prompt_hash"].str.len().eq(64).all()
        assert isinstance(df["factors"].iloc[0].tolist(), list)
    gen = pd.read_parquet(layout.descriptions("c", "general"))
    wc = pd.read_parquet(layout.descriptions("c", "women-crime"))
    assert gen["prompt_hash"].iloc[0] != wc["prompt_hash"].iloc[0]
    assert (gen["text"] != wc["text"]).all()
    assert pd.read_csv(root / "descriptions" / "c" / "failures.csv").empty
    metrics = json.loads((root / "metrics" / "describe" / "c.json").read_text())
    assert metrics["general"]["described"] == 4
    before = outputs(root)
    m2 = describe_city(p, layout, "c", progress=False)
    assert all(m2[t]["calls"] == 0 and m2[t]["cached"] == 4 for t in targets)
    assert outputs(root) == before  # created comes from the cache: identical bytes


def test_only_one_target_with_progress_bar(city_factory, capsys):
    root = city_factory(n=2)
    p, layout = load_params(root / "params.yaml"), Layout(root)
    m = describe_city(p, layout, "c", only="elderly-traffic", progress=True)
    shown = capsys.readouterr().out
    assert "describe c (scene)" in shown and "failed=0" in shown and "rate=" in shown
    assert list(m) == ["elderly-traffic"]
    assert [f.name for f in (root / "descriptions" / "c").glob("*.parquet")] == ["elderly-traffic.parquet"]
    with pytest.raises(ConfigError, match="unknown group-scenario 'kids-traffic'"):
        describe_city(p, layout, "c", only="kids-traffic", progress=False)
    with pytest.raises(ConfigError, match="unknown city 'nowhere'"):
        describe_city(p, layout, "nowhere", progress=False)


def test_scene_change_redescribes_only_that_image(city_factory):
    root = city_factory(n=3)
    p, layout = load_params(root / "params.yaml"), Layout(root)
    describe_city(p, layout, "c", only="general", progress=False)
    sc = pd.read_parquet(layout.scene("c"))
    sc.loc[0, "brightness"] = 0.01
    sc.to_parquet(layout.scene("c"), index=False)
    m = describe_city(p, layout, "c", only="general", progress=False)
    assert m["general"]["calls"] == 1 and m["general"]["cached"] == 2


def test_missing_inputs_are_data_errors(city_factory):
    root = city_factory(n=2)
    p, layout = load_params(root / "params.yaml"), Layout(root)
    layout.scene("c").unlink()
    with pytest.raises(DataError, match=r"scene\.parquet is missing.*scene@c"):
        describe_city(p, layout, "c", progress=False)
    layout.valid_manifest("c").unlink()
    with pytest.raises(DataError, match=r"valid\.parquet"):
        describe_city(p, layout, "c", progress=False)


def test_image_without_scene_parse_is_recorded_not_fatal(city_factory):
    root = city_factory(n=3)
    p, layout = load_params(root / "params.yaml"), Layout(root)
    sc = pd.read_parquet(layout.scene("c"))
    missing = sc.loc[0, "image_id"]
    sc.iloc[1:].to_parquet(layout.scene("c"), index=False)
    m = describe_city(p, layout, "c", only="general", progress=False)
    assert m["general"] == {"described": 2, "failed": 1, "calls": 2, "cached": 0, "tokens": 0}
    fail = pd.read_csv(root / "descriptions" / "c" / "failures.csv")
    assert fail.to_dict("records") == [
        {
            "image_id": missing,
            "target": "general",
            "error": f"no scene parse for image {missing}",
            "attempts": 1,
        }
    ]


@pytest.mark.integration
def test_great_expectations_rejects_bad_tables():
    from perceptops.describe.validate import validate_descriptions

    ok = pd.DataFrame({"image_id": ["a", "b"], "text": ["x", "y"], "rating": [1, 10]})
    validate_descriptions({"general": ok}, {"a", "b"}, "c")
    bad = {
        "orphan": (ok.assign(image_id=["a", "zzz"]), "orphan.parquet: expect_column_values_to_be_in_set"),
        "dup": (ok.assign(image_id=["a", "a"]), "expect_column_values_to_be_unique"),
        "range": (ok.assign(rating=[0, 11]), "expect_column_values_to_be_between"),
        "empty": (ok.assign(text=["", "y"]), "expect_column_value_lengths_to_be_between"),
    }
    for name, (df, msg) in bad.items():
        with pytest.raises(DataError, match=msg):
            validate_descriptions({name: df}, {"a", "b"}, "c")


@pytest.mark.integration
def test_cli_describe_with_gx(city_factory):
    from support import VENV_BIN, env_for_project

    root = city_factory(n=3, params={"describe": {"validate_outputs": True}})
    cmd = [str(VENV_BIN / "perceptops"), "describe", "--city", "c", "--only", "general", "--json"]
    out = subprocess.run(
        cmd, cwd=root, env=env_for_project(root), capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["general"]["described"] == 3
    out = subprocess.run(
        [*cmd[:-1], "--only", "nobody-crime"],
        cwd=root,
        env=env_for_project(root),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 2 and "unknown group-scenario 'nobody-crime'" in out.stderr
    assert "Traceback" not in out.stderr


@pytest.mark.integration
def test_dvc_stage_describes_a_city(tmp_path, city_factory):
    """`dvc repro describe@c` in a throwaway project with valid + scene inputs in place."""
    import shutil

    from support import dvc, make_project

    src = city_factory(n=3)
    proj = make_project(
        tmp_path / "dvcproj",
        {
            "cities!": {"c": {"source": "folder", "path": "images"}},
            "train_city": "c",
            "describe": {"validate_outputs": False},
        },
    )
    for rel in ("images", "data"):
        shutil.copytree(src / rel, proj / rel, dirs_exist_ok=True)
    # only this concern's stage block: the other stages' inputs do not exist in this throwaway project
    text = (proj / "dvc.yaml").read_text()
    start = text.index("\n  describe:\n")
    end = text.index("\n  embed:", start) if "\n  embed:" in text[start:] else len(text)
    (proj / "dvc.yaml").write_text("stages:" + text[start:end] + "\n")
    out = dvc(proj, "repro", "--single-item", "describe@c", check=False)
    assert out.returncode == 0, out.stdout + out.stderr
    d = proj / "descriptions" / "c"
    assert (d / "general.parquet").is_file() and (d / "women-crime.parquet").is_file()
    assert len(pd.read_parquet(d / "men-traffic.parquet")) == 3
    lock = (proj / "dvc.lock").read_text()
    assert "describe@c" in lock and "descriptions/c" in lock
    again = dvc(proj, "repro", "--single-item", "describe@c")
    assert "didn't change" in again.stdout or "skipping" in again.stdout.lower()
