"""Suite-wide settings: offline, telemetry off, and the shared data folder."""

from __future__ import annotations

from perceptops.offline import apply_offline_defaults

# Before anything imports mlflow/transformers/bentoml: never wait on the network, never phone home.
apply_offline_defaults()

import sys  # noqa: E402
from pathlib import Path  # noqa: E402

# Tests import in importlib mode (basenames repeat across concerns); each concern's helper module has a
# unique name and lives in its test folder, so every test folder goes on sys.path.
for _d in sorted(Path(__file__).parent.rglob("*")):
    if _d.is_dir() and _d.name != "__pycache__" and str(_d) not in sys.path:
        sys.path.append(str(_d))

import pytest  # noqa: E402

from support import REPO_ROOT, shared_dir  # noqa: E402


@pytest.fixture(scope="session", autouse=True)
def no_stray_tracking_store():
    """MLflow falls back to ./mlflow.db and ./mlruns when no URI is set: no test may leave them in the repo."""
    before = {p for p in ("mlflow.db", "mlruns") if (REPO_ROOT / p).exists()}
    yield
    stray = {p for p in ("mlflow.db", "mlruns") if (REPO_ROOT / p).exists()} - before
    assert not stray, f"a test wrote MLflow's default store into the repo: {sorted(stray)}"


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def shared() -> Path:
    """../shared (or $PERCEPTOPS_SHARED); skips only where it is genuinely absent (a user's machine)."""
    d = shared_dir()
    if not d.is_dir():
        pytest.skip(f"shared data folder {d} is absent (set PERCEPTOPS_SHARED)")
    return d


@pytest.fixture(scope="session")
def pipeline_project(tmp_path_factory) -> Path:
    """A throwaway project copy on which the whole pipeline ran once (`dvc repro`), shared by the
    integration tests of every concern: run it once per test session, read its outputs many times."""
    from support import dvc, make_project

    root = make_project(tmp_path_factory.mktemp("pipeline") / "proj", PIPELINE_PARAMS)
    r = dvc(root, "repro", check=False, timeout=1500)
    if r.returncode != 0:
        raise AssertionError(f"dvc repro failed:\n{r.stdout[-4000:]}\n{r.stderr[-4000:]}")
    return root


# Small enough for CI (2 cores), large enough for the per-group effects to show.
PIPELINE_PARAMS = {
    "cities!": {
        "demo": {
            "source": "synthetic",
            "synthetic": {"n_images": 200, "seed": 7, "style": "mixed", "raters": 120, "votes_per_rater": 50},
        },
        "demo-night": {
            "source": "synthetic",
            "synthetic": {"n_images": 60, "seed": 8, "style": "night", "raters": 20, "votes_per_rater": 20},
        },
    },
}
