"""Where MLflow writes: the project's sqlite + artifact folder, never ./mlruns; a dead server fails fast."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest
from registry_helpers import load

from perceptops.errors import BackendError, ConfigError
from perceptops.registry.tracking import connect, tracking_uri


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_uri_resolves_against_project_root(bare_reg, monkeypatch):
    p, root = bare_reg.params, bare_reg.root
    assert tracking_uri(p, root) == f"sqlite:///{root / 'mlflow/mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://mlflow.example:5000/")
    assert tracking_uri(p, root) == "http://mlflow.example:5000"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "ftp://nowhere")
    with pytest.raises(ConfigError, match=r"registry.tracking_uri .*MLFLOW_TRACKING_URI"):
        tracking_uri(p, root)


def test_no_stray_mlruns_when_run_from_another_folder(bare_reg, tmp_path, monkeypatch):
    import mlflow

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    reg = connect(bare_reg.params, bare_reg.root)
    with mlflow.start_run(experiment_id=reg.experiment_id()):
        mlflow.log_text("hello", "note.txt")
    assert not (elsewhere / "mlruns").exists() and not (bare_reg.root / "mlruns").exists()
    assert list((bare_reg.root / "mlflow/artifacts").rglob("note.txt"))
    exp = reg.client.get_experiment(reg.experiment_id())
    assert exp.artifact_location == (bare_reg.root / "mlflow/artifacts").as_uri()


def test_cli_startup_does_not_import_mlflow():
    code = "import sys, perceptops.cli; print(sorted(m for m in ('mlflow', 'torch') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.integration
def test_server_down_is_a_clear_quick_error_and_writes_nothing(project, monkeypatch):
    from perceptops.registry.promotion import promote
    from perceptops.registry.register import register_all

    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"http://127.0.0.1:{free_port()}")
    with pytest.raises(
        BackendError,
        match=r"MLflow tracking server http://127.0.0.1:\d+ is not reachable .*MLFLOW_TRACKING_URI",
    ):
        register_all(load(project), project)
    assert not (project / "registry/registered.json").exists()
    with pytest.raises(BackendError, match="not reachable"):
        promote(connect(load(project), project), "safety-general", "1")
    assert not (project / "mlflow/events.jsonl").exists()
    assert not (project / "mlflow/artifacts").exists()


def test_connect_leaves_the_environment_alone(bare_reg, tmp_path):
    """MLflow's set_tracking_uri exports MLFLOW_TRACKING_URI; a second project must still get its own store."""
    import os
    import shutil

    assert "MLFLOW_TRACKING_URI" not in os.environ
    other = tmp_path / "other"
    other.mkdir()
    shutil.copy2(bare_reg.root / "params.yaml", other / "params.yaml")
    reg2 = connect(load(other), other)
    assert "MLFLOW_TRACKING_URI" not in os.environ
    assert reg2.uri == f"sqlite:///{other / 'mlflow/mlflow.db'}" != bare_reg.uri
