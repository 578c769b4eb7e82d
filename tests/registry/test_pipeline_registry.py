"""The done-when of the registry on the real pipeline (the session's shared `dvc repro` project):
nine models with champions, audit names dvc.lock's description md5, --export reproduces the bytes."""

from __future__ import annotations

import json

import pytest

from support import perceptops

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_registry_after_the_pipeline(pipeline_project, tmp_path):
    from ruamel.yaml import YAML

    from perceptops.config import load_params
    from perceptops.registry.lineage import object_path

    root = pipeline_project
    params = load_params(root / "params.yaml")
    reg = json.loads((root / "registry/registered.json").read_text())
    names = {m["name"] for m in reg["models"]}
    assert names == {"safety-general", *(f"safety-{t}" for t in params.target_names())}
    assert len(names) == 9

    r = perceptops(root, "registry", "list", "--json")
    assert r.returncode == 0, r.stderr
    listed = {m["name"]: m for m in json.loads(r.stdout)["models"]}
    assert set(listed) == names

    target = params.target_names()[0]
    name = f"safety-{target}"
    version = listed[name]["versions"][-1]["version"]
    r = perceptops(root, "audit", name, version, "--json", "--export", str(tmp_path / "x"))
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)["inputs"]["descriptions"]
    city = params.train_city
    lock = YAML(typ="safe").load((root / "dvc.lock").read_text())
    dir_md5 = next(
        o["md5"]
        for s in lock["stages"].values()
        for o in s.get("outs", [])
        if o["path"] == f"descriptions/{city}"
    )
    assert d["out_md5"] == dir_md5
    manifest = json.loads(object_path(root / ".dvc/cache", dir_md5).read_text())
    assert d["md5"] == {e["relpath"]: e["md5"] for e in manifest}[f"{target}.parquet"]
    exported = tmp_path / "x" / f"descriptions/{city}/{target}.parquet"
    assert exported.read_bytes() == (root / f"descriptions/{city}/{target}.parquet").read_bytes()
