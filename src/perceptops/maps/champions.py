"""Find and load the champion of every model (general + each group x scenario) from the MLflow registry.

A map is only as trustworthy as the model version behind it, so each champion carries its registered
name and version into ``predictions.parquet``. A target whose model has no ``champion`` alias is
skipped with a message; the caller maps the rest.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from perceptops.config import Params
from perceptops.errors import BackendError
from perceptops.paths import Layout
from perceptops.registry import model_name, tracking_uri
from perceptops.utils import sha256_text

CHAMPION = "champion"


class Scorer(Protocol):
    """What maps needs of a SafetyModel (perceptops.model.io.load_model)."""

    config: Any

    def score(self, img_emb: np.ndarray, txt_emb: np.ndarray) -> np.ndarray: ...


@dataclass
class Champion:
    target: str  # "general" or "<group>-<scenario>"
    name: str  # registered model name, e.g. safety-women-crime
    version: str
    model: Scorer
    run_id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def all_targets(params: Params) -> list[str]:
    return ["general", *params.target_names()]


def find_model_dir(path: Path) -> Path | None:
    """The folder holding ``config.json`` + ``model.pt`` (the models/ layout) at or below ``path``."""
    if (path / "config.json").is_file() and (path / "model.pt").is_file():
        return path
    for cfg in sorted(path.rglob("config.json")):
        if (cfg.parent / "model.pt").is_file():
            return cfg.parent
    return None


def load_model_dir(path: Path) -> Scorer:
    """perceptops.model.io.load_model; a missing model package is a clear error, not a traceback."""
    try:
        from perceptops.model.io import load_model
    except ImportError as err:
        raise BackendError(
            f"cannot load model {path}: perceptops.model.io is not available ({err}); install the model package"
        ) from None
    return load_model(path)


def load_champions(
    params: Params,
    root: Path,
    targets: list[str] | None = None,
    loader: Callable[[Path], Scorer] = load_model_dir,
) -> tuple[list[Champion], list[str]]:
    """Load ``models:/NAME@champion`` for each target. Returns (champions, skipped messages)."""
    import logging

    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    for noisy in ("mlflow", "alembic"):  # migrations chatter is noise in a stage log
        logging.getLogger(noisy).setLevel(logging.WARNING)
    os.environ.setdefault(
        "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false"
    )  # one bar per file: noise in stage logs
    uri = tracking_uri(params, root)
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    champions: list[Champion] = []
    skipped: list[str] = []
    for target in targets or all_targets(params):
        name = model_name(target)
        try:
            mv = client.get_model_version_by_alias(name, CHAMPION)
        except MlflowException as err:
            skipped.append(f"{target}: no '{CHAMPION}' version of registered model {name!r} ({_short(err)})")
            continue
        # keyed by run too: a fresh registry reuses names and version numbers
        key = f"{name}-v{mv.version}-{sha256_text(f'{uri}|{mv.run_id}|{mv.source}')[:10]}"
        cache = Layout(root).cache_dir(params.project.cache_dir) / "registry" / key
        model = _load_version(client, mv, uri, loader, cache)
        champions.append(Champion(target, name, str(mv.version), model, run_id=mv.run_id))
    return champions, skipped


def _load_version(client: Any, mv: Any, uri: str, loader: Callable[[Path], Scorer], cache: Path) -> Scorer:
    """Download the version's artifacts once into the cache (versions are immutable) and load the folder."""
    model_dir = find_model_dir(cache) if cache.is_dir() else None
    if model_dir is None:
        import mlflow.artifacts

        cache.mkdir(parents=True, exist_ok=True)
        # the concrete artifact location, resolved by this client: a models:/ URI would be resolved
        # through MLflow's global registry URI instead (not this project's store)
        src = client.get_model_version_download_uri(mv.name, mv.version)
        mlflow.artifacts.download_artifacts(artifact_uri=src, tracking_uri=uri, dst_path=str(cache))
        model_dir = find_model_dir(cache)
    if model_dir is None:
        raise BackendError(
            f"registered model {mv.name} version {mv.version} holds no config.json + model.pt "
            f"(artifacts at {mv.source}); re-register it with 'dvc repro register'"
        )
    return loader(model_dir)


def _short(err: Exception) -> str:
    msg = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    return msg[:160]
