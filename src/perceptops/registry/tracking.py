"""Where MLflow lives for this project, and a connected client.

Default: a sqlite registry under ``mlflow/`` and an artifact folder under ``mlflow/artifacts``, both
resolved against the project root (never a stray ``./mlruns`` in whatever folder a command ran from:
the experiment is created with an explicit ``artifact_location``). ``MLFLOW_TRACKING_URI`` overrides
(an ``http(s)://`` MLflow server: the server then owns artifact storage).
"""

from __future__ import annotations

import logging
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from perceptops.errors import BackendError, ConfigError

ENV_URI = "MLFLOW_TRACKING_URI"
# A dead server must fail in seconds, not after MLflow's default 7 retries with backoff (minutes).
FAST_FAIL_ENV = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "10",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "0",
}


def _root(root: Path | None) -> Path:
    from perceptops.paths import project_root

    return Path(root) if root is not None else project_root()


def is_remote(uri: str) -> bool:
    return uri.startswith(("http://", "https://"))


def tracking_uri(params: Any, root: Path | None = None) -> str:
    """``$MLFLOW_TRACKING_URI`` or params ``registry.tracking_uri``; a relative sqlite path is made absolute."""
    uri = os.environ.get(ENV_URI) or params.registry.tracking_uri
    if is_remote(uri):
        return uri.rstrip("/")
    if uri.startswith("sqlite:///"):
        path = Path(uri[len("sqlite:///") :])
        if not path.is_absolute():
            path = (_root(root) / path).resolve()
        path.parent.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{path}"
    if uri.startswith(("postgresql://", "postgresql+psycopg2://", "mysql://")):
        return uri  # a database directly: fine for one team member, artifacts still go to artifact_root
    raise ConfigError(
        f"tracking URI {uri!r} is not supported: set registry.tracking_uri in params.yaml (or "
        f"{ENV_URI}) to sqlite:///<path> or http(s)://<mlflow server>"
    )


def artifact_location(params: Any, root: Path | None = None) -> str:
    """file:// URI of the local artifact folder (params ``registry.artifact_root``, relative to the root)."""
    from perceptops.paths import expand

    path = expand(params.registry.artifact_root, _root(root))
    path.mkdir(parents=True, exist_ok=True)
    return path.as_uri()


def quiet_mlflow() -> None:
    """MLflow/alembic chatter is noise in a stage log; warnings about pickle are expected (see register)."""
    for name in ("mlflow", "alembic", "alembic.runtime.migration"):
        logging.getLogger(name).setLevel(logging.WARNING)
    # Pickle is deliberate (the net's forward takes two tensors, pt2 export needs an example): no warning.
    logging.getLogger("mlflow.pytorch").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", module=r"mlflow\..*")
    warnings.filterwarnings("ignore", message=r".*(Pickle|pickle|CloudPickle).*")


def fast_sqlite() -> None:
    """WAL + synchronous=NORMAL on sqlite connections: MLflow commits hundreds of small transactions per
    registration and the default fsync-per-commit dominated the register stage (still crash-safe;
    WAL also lets a reader work beside a writer)."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    if getattr(fast_sqlite, "installed", False):
        return

    @event.listens_for(Engine, "connect")
    def _pragmas(dbapi_conn: Any, _record: Any) -> None:
        import sqlite3

        if isinstance(dbapi_conn, sqlite3.Connection):
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

    fast_sqlite.installed = True  # type: ignore[attr-defined]


def check_server(uri: str, timeout: float = 5.0) -> None:
    """Fail fast with one clear line when a tracking server does not answer (before writing anything)."""
    import requests

    try:
        r = requests.get(f"{uri}/health", timeout=timeout)
    except requests.RequestException as err:
        raise BackendError(
            f"MLflow tracking server {uri} is not reachable ({type(err).__name__}): start it, or point "
            f"{ENV_URI} / params registry.tracking_uri at a running server"
        ) from None
    if r.status_code != 200:
        raise BackendError(
            f"MLflow tracking server {uri} answered HTTP {r.status_code} on /health: check the server, or "
            f"point {ENV_URI} / params registry.tracking_uri elsewhere"
        )


@dataclass
class Registry:
    """A connected MLflow client plus the project it serves."""

    client: Any  # mlflow.MlflowClient
    uri: str
    root: Path
    params: Any
    _experiment_id: str | None = None

    @property
    def remote(self) -> bool:
        return is_remote(self.uri)

    def experiment_id(self) -> str:
        """The project experiment, created with an explicit artifact location where the store is local."""
        if self._experiment_id is None:
            name = self.params.registry.experiment
            exp = self.client.get_experiment_by_name(name)
            if exp is None:
                loc = None if self.remote else artifact_location(self.params, self.root)
                try:
                    self._experiment_id = self.client.create_experiment(name, artifact_location=loc)
                except Exception:  # created concurrently by another process: read it back
                    exp = self.client.get_experiment_by_name(name)
                    if exp is None:
                        raise
                    self._experiment_id = exp.experiment_id
            else:
                self._experiment_id = exp.experiment_id
        return self._experiment_id

    def events_log(self) -> Path:
        from perceptops.paths import expand

        return expand(self.params.registry.events_log, self.root)


def connect(params: Any = None, root: Path | None = None) -> Registry:
    """Point MLflow at the project's tracking store and return a client (server checked first)."""
    from perceptops.config import load_params

    root = _root(root)
    if params is None:
        params = load_params(root / "params.yaml")
    for k, v in FAST_FAIL_ENV.items():
        os.environ.setdefault(k, v)
    uri = tracking_uri(params, root)
    if is_remote(uri):
        check_server(uri)
    quiet_mlflow()
    if uri.startswith("sqlite:"):
        fast_sqlite()
    import mlflow
    from mlflow import MlflowClient

    # set_*_uri also export MLFLOW_TRACKING_URI/MLFLOW_REGISTRY_URI into os.environ, which would then win
    # over params for every later project in this process: keep the user's environment as it was.
    saved = {k: os.environ.get(k) for k in (ENV_URI, "MLFLOW_REGISTRY_URI")}
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
    return Registry(
        client=MlflowClient(tracking_uri=uri, registry_uri=uri), uri=uri, root=root, params=params
    )


def not_found(err: Exception) -> bool:
    """True for MLflow's RESOURCE_DOES_NOT_EXIST (unknown model / version / alias)."""
    code = getattr(err, "error_code", "")
    return "RESOURCE_DOES_NOT_EXIST" in str(code) or "INVALID_PARAMETER_VALUE" in str(code)


def load_registered(name: str, alias: str = "champion", params: Any = None, root: Path | None = None):
    """Download ``models:/NAME@alias`` (its extra files hold config.json + model.pt) and load the SafetyModel."""
    from perceptops.model.io import load_model

    return load_model(registered_model_dir(name, alias, params, root))


def registered_model_dir(
    name: str, alias: str = "champion", params: Any = None, root: Path | None = None
) -> Path:
    """Local folder with config.json + model.pt of ``models:/NAME@alias`` (cached by name and version)."""
    from perceptops.paths import Layout

    reg = connect(params, root)
    mv = get_version(reg, name, alias=alias)
    dest = Layout(reg.root).cache_dir(reg.params.project.cache_dir) / "registry" / f"{name}-v{mv.version}"
    found = sorted(dest.rglob("config.json")) if dest.is_dir() else []
    if not found:
        import mlflow

        dest.mkdir(parents=True, exist_ok=True)
        mlflow.artifacts.download_artifacts(artifact_uri=f"models:/{name}/{mv.version}", dst_path=str(dest))
        found = sorted(dest.rglob("config.json"))
    if not found:
        raise BackendError(
            f"{name} v{mv.version} holds no config.json + model.pt: re-register it (dvc repro)"
        )
    return found[0].parent


def ensure_model(reg: Registry, name: str) -> Any:
    """The registered model, or a ConfigError listing the registered names."""
    try:
        return reg.client.get_registered_model(name)
    except Exception as err:
        if not not_found(err):
            raise
        known = sorted(m.name for m in reg.client.search_registered_models())
        raise ConfigError(
            f"unknown model {name!r}; registered models: {', '.join(known) or '(none: run the register stage)'}"
        ) from None


def get_version(reg: Registry, name: str, version: str | int | None = None, alias: str | None = None):
    """A model version by number or alias; a ConfigError naming the model/version/alias when unknown."""
    ensure_model(reg, name)
    try:
        if alias is not None:
            return reg.client.get_model_version_by_alias(name, alias)
        return reg.client.get_model_version(name, str(version))
    except Exception as err:
        if not not_found(err):
            raise
        versions = sorted(int(v.version) for v in reg.client.search_model_versions(f"name='{name}'"))
        what = f"alias {alias!r}" if alias is not None else f"version {version!r}"
        raise ConfigError(
            f"model {name!r} has no {what}; versions: {', '.join(map(str, versions)) or '(none)'}"
        ) from None
