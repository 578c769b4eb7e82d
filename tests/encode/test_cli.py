"""The `embed` command (registered by perceptops.encode.cli.register)."""

import json

import typer
from encode_support import make_city
from typer.testing import CliRunner

from perceptops.encode.cli import register


def test_embed_command_reports_cache_use(tmp_path, monkeypatch):
    monkeypatch.delenv("PERCEPTOPS_CACHE", raising=False)
    params, layout, ids = make_city(tmp_path, n=3)
    from ruamel.yaml import YAML

    with open(tmp_path / "params.yaml", "w") as f:
        YAML().dump(params.model_dump(mode="json", by_alias=True), f)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PERCEPTOPS_PROJECT", str(tmp_path))
    app = typer.Typer()
    register(app)

    @app.command("noop")
    def _noop() -> None:  # a second command keeps typer from collapsing the app to one command
        pass

    first = CliRunner().invoke(app, ["embed", "--city", "town", "--json"])
    assert first.exit_code == 0, first.output
    again = CliRunner().invoke(app, ["embed", "--city", "town", "--json"])
    stats = json.loads(again.output[again.output.index("{") :])
    assert stats["image_forwards"] == 0 and stats["image_cache_hits"] == len(ids)
