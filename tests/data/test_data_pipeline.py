"""`dvc repro` of ingest/validate for real Place Pulse 1.0 and 2.0 subsets in a throwaway project."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from perceptops.config import load_params
from perceptops.data.survey import survey_city
from perceptops.paths import Layout
from support import dvc, make_project

pytestmark = pytest.mark.integration

CITIES = {
    "boston": {
        "source": "placepulse1",
        "path": "${PERCEPTOPS_SHARED}/data/placepulse1",
        "filter": {"city": "Boston"},
        "limit": 30,
    },
    "pp2": {"source": "placepulse2", "path": "${PERCEPTOPS_SHARED}/data/placepulse2", "limit": 30},
}
STAGES = ["ingest@boston", "validate@boston", "ingest@pp2", "validate@pp2"]


def own_stages(text: str, names: tuple[str, ...]) -> str:
    """The stage blocks ``names`` of dvc.yaml, cut by indentation (the other blocks belong to other concerns)."""
    keep, out = False, ["stages:"]
    for line in text.splitlines():
        if line.startswith("  ") and not line.startswith("   ") and line.rstrip().endswith(":"):
            keep = line.strip()[:-1] in names
        elif line and not line.startswith(" "):
            keep = False
        if keep:
            out.append(line)
    return "\n".join(out) + "\n"


@pytest.fixture(scope="module")
def repro(tmp_path_factory, shared):
    root = make_project(tmp_path_factory.mktemp("dataproj") / "p", {"cities": CITIES})
    # Only this concern's stages: the run must not depend on other concerns' stage definitions.
    (root / "dvc.yaml").write_text(own_stages((root / "dvc.yaml").read_text(), ("ingest", "validate")))
    r = dvc(root, "repro", *STAGES, check=False)
    assert r.returncode == 0, r.stdout + r.stderr
    return root


def test_manifests_and_validation(repro):
    lay = Layout(repro)
    for city in ("boston", "pp2"):
        man = pd.read_parquet(lay.manifest(city))
        assert len(man) == 30 and man["image_id"].str.fullmatch(r"[0-9a-f]{64}").all()
        assert (man["width"] > 0).all() and (man["source"] == CITIES[city]["source"]).all()
        m = json.loads(lay.metrics(f"validate/{city}").read_text())
        assert m["passed"] and m["total"] == 30 and m["valid"] + m["quarantined"] == 30
        assert len(pd.read_parquet(lay.valid_manifest(city))) == m["valid"]
    bos = pd.read_parquet(lay.manifest("boston"))
    assert bos["lat"].between(42, 43).all() and bos["lon"].between(-72, -70).all()
    assert (lay.ingest_dir("boston") / "scores.parquet").is_file()
    assert (lay.ingest_dir("pp2") / "raw_votes.parquet").is_file()


def test_second_repro_does_nothing(repro):
    r = dvc(repro, "repro", *STAGES)
    assert "didn't change" in r.stdout or "up to date" in r.stdout, r.stdout
    assert "Running stage" not in r.stdout
    lock = (repro / "dvc.lock").read_text()
    assert "data/boston/ingest" in lock and "metrics/validate/pp2.json" in lock


def test_survey_on_the_placepulse2_subset(repro, monkeypatch):
    monkeypatch.setenv("PERCEPTOPS_PROJECT", str(repro))
    m = survey_city(load_params(repro / "params.yaml"), Layout(repro), "pp2")
    # 30 of 6,009 images: almost every vote names an image outside the subset; all are counted
    assert m["votes_in"] == 20403
    assert m["votes_in"] == sum(
        m[k]
        for k in (
            "bad_choice",
            "self_pairs",
            "unknown_ids",
            "quarantined_ids",
            "unknown_scenario",
            "votes_used",
        )
    )
    assert m["self_pairs"] >= 1700 and m["unknown_ids"] > 18000
