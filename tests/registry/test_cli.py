"""The commands end to end as a user runs them (subprocesses; each pays MLflow's import once)."""

from __future__ import annotations

import json

import pytest
from registry_helpers import add_version, load

from perceptops.registry.tracking import connect
from support import perceptops

pytestmark = pytest.mark.integration


def test_list_promote_refuse_force_rollback_audit(registered, tmp_path):
    root, _ = registered
    r = perceptops(root, "registry", "list", "--json")
    assert r.returncode == 0, r.stderr
    models = {m["name"]: m for m in json.loads(r.stdout)["models"]}
    assert set(models) == {"safety-general", "safety-women-traffic", "safety-women-crime"}
    v1 = models["safety-general"]["versions"][0]
    assert v1["aliases"] == ["candidate", "champion"] and v1["accuracy"] == pytest.approx(0.61)

    reg = connect(load(root), root)
    add_version(
        reg,
        "safety-general",
        acc=0.2,
        data_md5=reg.client.get_model_version("safety-general", "1").tags["eval.data_md5"],
    )
    r = perceptops(root, "promote", "safety-general", "2")
    assert r.returncode == 3, r.stdout + r.stderr
    assert "min_accuracy: FAIL: accuracy 0.2000 < min_accuracy 0.5000" in r.stderr
    assert "no_regression: FAIL: accuracy 0.2000 vs champion v1 0.6100" in r.stderr

    r = perceptops(
        root,
        "promote",
        "safety-general",
        "2",
        "--force",
        "--reason",
        "ops drill",
        "--json",
        PERCEPTOPS_USER="alice",
    )
    assert r.returncode == 0, r.stderr
    e = json.loads(r.stdout)
    assert (e["action"], e["from"], e["to"], e["reason"], e["user"]) == (
        "force-promote",
        "1",
        "2",
        "ops drill",
        "alice",
    )

    r = perceptops(root, "rollback", "safety-general", "--json")
    assert r.returncode == 0, r.stderr
    assert (json.loads(r.stdout)["from"], json.loads(r.stdout)["to"]) == ("2", "1")
    log = [json.loads(x) for x in (root / "mlflow/events.jsonl").read_text().splitlines()]
    assert [x["action"] for x in log if x["model"] == "safety-general"] == [
        "auto-promote",
        "refused",
        "force-promote",
        "rollback",
    ]

    r = perceptops(root, "audit", "safety-women-crime", "1", "--export", str(tmp_path / "x"))
    assert r.returncode == 0, r.stderr
    assert "descriptions/demo/women-crime.parquet" in r.stdout
    assert (tmp_path / "x/descriptions/demo/women-crime.parquet").is_file()
    r = perceptops(root, "audit", "safety-nobody", "1")
    assert r.returncode == 2 and "unknown model 'safety-nobody'" in r.stderr
