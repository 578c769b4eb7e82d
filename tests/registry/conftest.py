"""Registry fixtures: a throwaway project whose upstream outs come from a real `dvc repro` (fake_upstream.py),
so dvc.lock, the .dir manifests and the DVC cache are the real thing; and a bare MLflow registry for gate tests.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent
# --import-mode=importlib puts no test folder on sys.path: make this folder's helper modules importable.
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from registry_helpers import FAKE_DVC, SMALL, load  # noqa: E402

from support import dvc, make_project  # noqa: E402


@pytest.fixture(autouse=True)
def _isolated_mlflow(monkeypatch):
    """No test may touch a real MLFLOW_TRACKING_URI; MLflow's global URI is reset after each test."""
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("PERCEPTOPS_PROJECT", raising=False)
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "5")
    yield
    import sys

    if "mlflow" in sys.modules:
        import mlflow

        mlflow.set_tracking_uri(None)
        mlflow.set_registry_uri(None)


@pytest.fixture(scope="session")
def empty_db(tmp_path_factory) -> Path:
    """An MLflow sqlite store with its schema migrated once: creating one costs seconds per test."""
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    db = tmp_path_factory.mktemp("db") / "mlflow.db"
    SqlAlchemyStore(f"sqlite:///{db}", str(db.parent / "art"))
    return db


def seed_db(root: Path, db: Path) -> None:
    (root / "mlflow").mkdir(parents=True, exist_ok=True)
    shutil.copy2(db, root / "mlflow" / "mlflow.db")


@pytest.fixture(scope="session")
def upstream_template(tmp_path_factory) -> Path:
    """A project copy with the upstream outs produced by a real `dvc repro` (once per session)."""
    root = make_project(tmp_path_factory.mktemp("reg") / "template", SMALL)
    (root / "dvc.yaml").write_text(FAKE_DVC)
    (root / "dvc.lock").unlink(missing_ok=True)
    shutil.copy2(HERE / "fake_upstream.py", root / "fake_upstream.py")
    git = ["git", "-c", "user.email=t@t", "-c", "user.name=t"]
    subprocess.run([*git, "add", "-A"], cwd=root, check=True, capture_output=True)
    subprocess.run([*git, "commit", "-qm", "fake upstream"], cwd=root, check=True, capture_output=True)
    dvc(root, "repro", "-q")
    subprocess.run([*git, "add", "-A"], cwd=root, check=True, capture_output=True)
    subprocess.run([*git, "commit", "-qm", "lock"], cwd=root, check=True, capture_output=True)
    return root


@pytest.fixture
def project(upstream_template, empty_db, tmp_path) -> Path:
    """A fresh copy of the template (own MLflow store, own DVC cache)."""
    dest = tmp_path / "proj"
    shutil.copytree(upstream_template, dest, symlinks=True)
    seed_db(dest, empty_db)
    return dest


@pytest.fixture(scope="session")
def registered_template(upstream_template, empty_db, tmp_path_factory):
    """The template after the register stage ran in-process (auto-promotion on), once per session."""
    from perceptops.registry.register import register_all

    dest = tmp_path_factory.mktemp("registered") / "proj"
    shutil.copytree(upstream_template, dest, symlinks=True)
    seed_db(dest, empty_db)
    out = register_all(load(dest), dest)
    import mlflow

    mlflow.set_tracking_uri(None)
    mlflow.set_registry_uri(None)
    return dest, out


@pytest.fixture
def registered(registered_template, tmp_path):
    """A private copy of the registered project (own sqlite store, events log and DVC cache; the run
    artifacts stay in the template's folder, which these tests only read)."""
    src, out = registered_template
    dest = tmp_path / "proj"
    shutil.copytree(src, dest, symlinks=True)
    return dest, out


@pytest.fixture
def bare_reg(tmp_path, monkeypatch, empty_db):
    """A connected, empty sqlite registry in a minimal project (for gate/event unit tests)."""
    from perceptops.registry.tracking import connect
    from support import REPO_ROOT

    root = tmp_path / "p"
    root.mkdir()
    shutil.copy2(REPO_ROOT / "params.yaml", root / "params.yaml")
    seed_db(root, empty_db)
    monkeypatch.setenv("PERCEPTOPS_USER", "tester")
    return connect(load(root), root)
