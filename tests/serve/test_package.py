"""`perceptops package`: champions -> BentoML store (with lineage labels) -> an offline bento."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from perceptops.config import load_params, parse_params
from perceptops.errors import ConfigError, DataError

pytestmark = pytest.mark.integration

NAMES = [
    "safety-general",
    "safety-women-traffic",
    "safety-women-crime",
    "safety-elderly-traffic",
    "safety-elderly-crime",
]


def yaml(path: Path) -> dict:
    return YAML(typ="safe").load(path.read_text())


def store_model(packaged: dict, tag: str) -> Path:
    name, version = tag.split(":")
    return Path(packaged["bentoml_home"]) / "models" / name / version


@pytest.fixture
def in_store(packaged, monkeypatch):
    """In-process calls against the packaged store (BentoML reads BENTOML_HOME when first imported)."""
    monkeypatch.setenv("BENTOML_HOME", packaged["bentoml_home"])
    monkeypatch.setenv("PERCEPTOPS_PROJECT", str(packaged["root"]))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    return packaged


def test_every_champion_imported_with_lineage_labels(packaged):
    assert [m["name"] for m in packaged["models"]] == NAMES
    for m in packaged["models"]:
        info = yaml(store_model(packaged, m["tag"]) / "model.yaml")
        labels = info["labels"]
        assert info["module"] == "bentoml.mlflow"
        assert labels["mlflow.name"] == m["name"] and labels["mlflow.version"] == m["version"] == "1"
        assert labels["git.commit"] == "0123456789abcdef"
        assert labels["lineage.descriptions.md5"] == "d41d8cd98f00b204e9800998ecf8427e"
        assert labels["describer.prompt_hash"] == "feedbeef"
        assert labels["encoder.image"].startswith("builtin-image")


def test_runtime_holds_params_prompts_and_manifest(packaged):
    rt = store_model(packaged, packaged["runtime"])
    params = load_params(rt / "params.yaml")  # a valid params file on its own
    assert params.target_names() == ["women-traffic", "women-crime", "elderly-traffic", "elderly-crime"]
    assert (rt / "prompts" / "knowledge.yaml").is_file()
    man = json.loads((rt / "manifest.json").read_text())
    assert [e["name"] for e in man["models"]] == NAMES
    for e in man["models"]:  # the model folder inside each imported MLflow model
        mdir = store_model(packaged, e["tag"]) / e["model_dir"]
        assert (mdir / "model.pt").is_file() and (mdir / "config.json").is_file()


def test_bento_is_offline_and_self_contained(packaged):
    bento = Path(packaged["bento_path"])
    info = yaml(bento / "bento.yaml")
    assert {m["tag"] for m in info["models"]} == {
        packaged["runtime"],
        *(m["tag"] for m in packaged["models"]),
    }
    assert (bento / "src" / "perceptops" / "serve" / "service.py").is_file()
    files = [p.relative_to(bento).as_posix() for p in bento.rglob("*") if p.is_file()]
    assert not [
        f for f in files if "/bentoml/" in f or f.endswith((".pt", ".db", ".parquet"))
    ]  # store not copied
    reqs = (bento / "env" / "python" / "requirements.txt").read_text()
    assert "torch==2.13.0" in reqs  # as written, not resolved against PyPI (no CUDA build, no lock)
    assert not (bento / "env" / "python" / "requirements.lock.txt").exists()


def test_repackaging_reuses_imported_versions(in_store):
    from perceptops.serve.package import import_champions

    root = in_store["root"]
    entries = import_champions(load_params(root / "params.yaml"), root)
    assert [e["tag"] for e in entries] == [m["tag"] for m in in_store["models"]]


def test_missing_champion_is_refused_naming_it(in_store):
    from perceptops.serve.package import import_champions

    root = in_store["root"]
    data = YAML(typ="safe").load((root / "params.yaml").read_text())
    data["groups"]["teens"] = {"persona": "a teenager walking home"}
    params = parse_params(data)
    with pytest.raises(DataError) as err:
        import_champions(params, root)
    msg = str(err.value)
    assert "safety-teens-traffic" in msg and "safety-teens-crime" in msg and "perceptops promote" in msg
    assert "--allow-missing" in msg
    entries = import_champions(params, root, allow_missing=True)
    assert [e["name"] for e in entries] == NAMES


def test_bentofile_must_not_lock_packages(tmp_path):
    from perceptops.serve.package import build_bento

    params = load_params()
    with pytest.raises(ConfigError, match="bentofile.yaml not found"):
        build_bento(params, tmp_path, [], {})
    (tmp_path / "bentofile.yaml").write_text("service: a:B\npython:\n  lock_packages: true\n")
    with pytest.raises(ConfigError, match="lock_packages: false"):
        build_bento(params, tmp_path, [], {})


def test_repo_bentofile_builds_offline(repo_root):
    data = yaml(repo_root / "bentofile.yaml")
    assert data["python"]["lock_packages"] is False
    assert data["service"] == "perceptops.serve.service:SafetyService"
