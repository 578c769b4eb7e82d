"""The whole pipeline, for real: `dvc repro` in a throwaway project copy (see conftest.pipeline_project)."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from support import dvc, perceptops

pytestmark = pytest.mark.integration


def test_second_repro_does_nothing(pipeline_project):
    r = dvc(pipeline_project, "repro")
    assert "Data and pipelines are up to date" in r.stdout, r.stdout
    st = dvc(pipeline_project, "status")
    assert "up to date" in st.stdout


def test_dag_shows_the_pipeline(pipeline_project):
    out = dvc(pipeline_project, "dag", "--md").stdout
    for stage in (
        "ingest@demo",
        "validate@demo",
        "scene@demo",
        "describe@demo",
        "embed@demo",
        "train_general",
        "finetune@women-crime",
        "evaluate",
        "register",
        "score_city@demo",
        "drift@demo-night",
    ):
        assert stage in out, stage


def test_demo_images_and_survey_are_dvc_outs(pipeline_project):
    lock = (pipeline_project / "dvc.lock").read_text()
    assert "data/demo/ingest" in lock and "data/demo/survey" in lock
    manifest = pd.read_parquet(pipeline_project / "data/demo/ingest/manifest.parquet")
    assert len(manifest) == 200
    assert manifest["image_id"].str.fullmatch(r"[0-9a-f]{64}").all()


def test_status_reports_the_outputs(pipeline_project):
    r = perceptops(pipeline_project, "status", "--json")
    assert r.returncode == 0, r.stderr
    st = json.loads(r.stdout)
    assert st["cities"]["demo"]["valid_images"] == 200
    assert st["models"]["general"] is True
    assert all(st["models"].values())
