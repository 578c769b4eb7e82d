"""Acceptances: append-only history, tied to the exact report; the CLI."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from perceptops.errors import ConfigError, DataError
from perceptops.monitor.accept import accept, acceptance_path, drift_status
from perceptops.paths import Layout
from perceptops.utils import write_json


def _report(root, city, verdict="drifted", share=0.4):
    lay = Layout(root)
    write_json(
        lay.drift_dir(city) / "summary.json",
        {"city": city, "verdict": verdict, "drift_share": share, "reference": "demo"},
    )
    write_json(lay.metrics(f"drift/{city}"), {"verdict": verdict, "drift_share": share})


def test_accept_appends_history(project):
    _report(project, "demo-night")
    assert drift_status(project, "demo-night")["resolved"] is False
    e1 = accept(project, "demo-night", "night photos, expected", by="ana")
    e2 = accept(project, "demo-night", "re-checked after new images", by="bo")
    doc = json.loads(acceptance_path(project, "demo-night").read_text())
    assert doc["city"] == "demo-night" and [h["by"] for h in doc["history"]] == ["ana", "bo"]
    assert doc["history"][0] == e1 and doc["history"][1] == e2  # the first entry is kept unchanged
    assert e1["verdict"] == "drifted" and e1["drift_share"] == 0.4 and len(e1["summary_sha256"]) == 64
    st = drift_status(project, "demo-night")
    assert st["accepted"] and st["resolved"] and st["latest_acceptance"]["by"] == "bo"


def test_new_report_needs_new_acceptance(project):
    _report(project, "demo-night", share=0.4)
    accept(project, "demo-night", "ok for now", by="ana")
    _report(project, "demo-night", share=0.7)  # a later, different report
    st = drift_status(project, "demo-night")
    assert st["verdict"] == "drifted" and not st["accepted"] and not st["resolved"]


def test_ok_verdict_is_resolved_without_acceptance(project):
    _report(project, "demo-night", verdict="ok", share=0.05)
    assert drift_status(project, "demo-night")["resolved"] is True


def test_accept_without_report(project):
    with pytest.raises(DataError, match="perceptops drift --city demo-night"):
        accept(project, "demo-night", "why not", by="x")


def test_accept_needs_reason(project):
    _report(project, "demo-night")
    with pytest.raises(ConfigError, match="--reason"):
        accept(project, "demo-night", "  ", by="x")
    assert not acceptance_path(project, "demo-night").exists()


def test_corrupt_history_refused(project):
    _report(project, "demo-night")
    acceptance_path(project, "demo-night").parent.mkdir(parents=True)
    acceptance_path(project, "demo-night").write_text('{"city": "demo-night"}')
    with pytest.raises(DataError, match="history"):
        accept(project, "demo-night", "x", by="x")


@pytest.fixture
def cli(project, monkeypatch):
    from perceptops.cli import app

    monkeypatch.setenv("PERCEPTOPS_PROJECT", str(project))
    runner = CliRunner()
    return lambda *args: runner.invoke(app, list(args))


def test_cli_accept(cli, project):
    _report(project, "demo-night")
    r = cli("drift", "--accept", "demo-night", "--reason", "night city, reviewed", "--by", "ana")
    assert r.exit_code == 0, r.output
    assert "accepted drift of demo-night" in r.output
    assert drift_status(project, "demo-night")["resolved"]


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (("drift",), "--city"),
        (("drift", "--accept", "demo-night"), "--reason"),
        (("drift", "--accept", "demo night", "--reason", "x"), "city name"),
        (("drift", "--accept", "demo-night", "--city", "demo", "--reason", "x"), "--accept"),
        (("drift", "--city", "a/b"), "city name"),
    ],
)
def test_cli_errors(cli, project, args, match):
    _report(project, "demo-night")
    r = cli(*args)
    assert r.exit_code != 0
    assert match in str(r.exception)


def test_cli_help(cli):
    r = cli("drift", "--help")
    assert r.exit_code == 0 and "--accept" in r.output and "--reference" in r.output
    r = cli("score", "--help")
    assert r.exit_code == 0 and "--city" in r.output
