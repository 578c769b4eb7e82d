"""`perceptops cities add/list` and the ingest/validate commands."""

from __future__ import annotations

import json

import pytest
from ruamel.yaml import YAML
from typer.testing import CliRunner

from perceptops.cli import app
from perceptops.config import load_params
from perceptops.errors import ConfigError, DataError
from support import perceptops

PARAMS = """# my project
cities:
  demo:            # the generated city
    source: synthetic
groups:
  women: {persona: a woman, filter: {gender: female}}
scenarios:
  crime: {risk: crime}
"""


@pytest.fixture
def proj(tmp_path, monkeypatch):
    (tmp_path / "params.yaml").write_text(PARAMS)
    monkeypatch.setenv("PERCEPTOPS_PROJECT", str(tmp_path))
    return tmp_path


def run(*args):
    return CliRunner().invoke(app, list(args))


def test_cities_add_writes_a_valid_entry_and_keeps_comments(proj):
    r = run(
        "cities",
        "add",
        "boston",
        "--source",
        "placepulse1",
        "--path",
        "${PERCEPTOPS_SHARED}/data/placepulse1",
        "--filter",
        "city=Boston",
        "--limit",
        "30",
        "--bbox",
        "42.2",
        "-71.2",
        "42.4",
        "-70.9",
    )
    assert r.exit_code == 0, r.output
    text = (proj / "params.yaml").read_text()
    assert "# the generated city" in text and "# my project" in text
    c = load_params(proj / "params.yaml").cities["boston"]
    assert c.source == "placepulse1" and c.filter == {"city": "Boston"} and c.limit == 30
    assert c.bbox == (42.2, -71.2, 42.4, -70.9) and c.path == "${PERCEPTOPS_SHARED}/data/placepulse1"
    r = run("cities", "list", "--json")
    rows = {x["name"]: x for x in json.loads(r.output)}
    assert rows["boston"]["limit"] == 30 and rows["demo"]["source"] == "synthetic"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["demo", "--source", "synthetic"], "already exists"),
        (["Bad Name", "--source", "folder", "--path", "x"], "city name 'Bad Name' is invalid"),
        (["x", "--source", "flickr", "--path", "x"], "allowed values: synthetic, folder"),
        (["x", "--source", "folder"], "needs 'path'"),
        (["x", "--source", "placepulse1", "--path", "p", "--filter", "city"], "KEY=VALUE"),
        (["x", "--source", "folder", "--path", "p", "--bbox", "50", "0", "40", "1"], "bbox"),
    ],
)
def test_cities_add_refuses_bad_input_and_writes_nothing(proj, args, message):
    before = (proj / "params.yaml").read_text()
    r = run("cities", "add", *args)
    assert isinstance(r.exception, ConfigError) and message in str(r.exception)
    assert (proj / "params.yaml").read_text() == before


def test_cities_add_force_replaces(proj):
    assert run("cities", "add", "demo", "--source", "folder", "--path", "/data/x", "--force").exit_code == 0
    data = YAML(typ="safe").load((proj / "params.yaml").read_text())
    assert data["cities"]["demo"] == {"source": "folder", "path": "/data/x"}


def test_errors_exit_non_zero_with_one_line(proj):
    r = perceptops(proj, "cities", "add", "demo", "--source", "synthetic")
    assert r.returncode == 2 and "already exists" in r.stderr and "Traceback" not in r.stderr


def test_ingest_and_validate_commands_print_json(proj, tmp_path):
    from svi_fixtures import jpeg_bytes, noise_image

    imgs = tmp_path / "imgs"
    imgs.mkdir()
    for i in range(3):
        (imgs / f"a{i}.jpg").write_bytes(jpeg_bytes(noise_image(300 + i)))
    (imgs / "broken.jpg").write_bytes(b"nope")
    assert run("cities", "add", "f", "--source", "folder", "--path", str(imgs)).exit_code == 0
    r = run("ingest", "--city", "f", "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["manifest"] == 4  # stdout is the JSON only (progress bars go to stderr)
    r = run("validate", "--city", "f", "--json")
    m = json.loads(r.stdout)
    assert m["by_reason"] == {"undecodable": 1} and m["passed"] is False  # 1 of 4 bad > max_bad_share 0.2
    assert isinstance(r.exception, DataError) and "validate.max_bad_share" in str(r.exception)
