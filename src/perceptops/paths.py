"""Where things live. Every path the pipeline writes is derived here, so stages, CLI and tests agree."""

from __future__ import annotations

import os
from pathlib import Path

from perceptops.errors import ConfigError

ENV_PROJECT = "PERCEPTOPS_PROJECT"
ENV_SHARED = "PERCEPTOPS_SHARED"


def project_root(start: str | Path | None = None) -> Path:
    """The nearest folder at or above ``start`` (default: $PERCEPTOPS_PROJECT or cwd) holding params.yaml."""
    if start is None:
        start = os.environ.get(ENV_PROJECT) or Path.cwd()
    here = Path(start).resolve()
    for d in (here, *here.parents):
        if (d / "params.yaml").is_file():
            return d
    raise ConfigError(
        f"no params.yaml in {here} or any parent: run perceptops inside a project checkout "
        f"(or set {ENV_PROJECT})"
    )


def shared_dir(root: Path | None = None) -> Path:
    """The read-only data/models folder: $PERCEPTOPS_SHARED, else ../shared beside the checkout."""
    env = os.environ.get(ENV_SHARED)
    if env:
        return Path(env).resolve()
    base = root if root is not None else project_root()
    return (base / ".." / "shared").resolve()


def expand(path: str, root: Path | None = None) -> Path:
    """Expand ${PERCEPTOPS_SHARED} and ~, and resolve a relative path against the project root."""
    root = root if root is not None else project_root()
    s = path.replace("${PERCEPTOPS_SHARED}", str(shared_dir(root))).replace(
        "$PERCEPTOPS_SHARED", str(shared_dir(root))
    )
    p = Path(os.path.expanduser(s))
    return p if p.is_absolute() else (root / p).resolve()


class Layout:
    """The project's output layout (all DVC outs), rooted at a project folder."""

    def __init__(self, root: Path | None = None):
        self.root = Path(root) if root is not None else project_root()

    # per city ---------------------------------------------------------------------------------
    def city_dir(self, city: str) -> Path:
        return self.root / "data" / city

    def ingest_dir(self, city: str) -> Path:  # manifest.parquet, images/ (synthetic), votes/scores
        return self.city_dir(city) / "ingest"

    def manifest(self, city: str) -> Path:
        return self.ingest_dir(city) / "manifest.parquet"

    def valid_dir(self, city: str) -> Path:  # valid.parquet, quarantine.csv
        return self.city_dir(city) / "valid"

    def valid_manifest(self, city: str) -> Path:
        return self.valid_dir(city) / "valid.parquet"

    def quarantine(self, city: str) -> Path:
        return self.valid_dir(city) / "quarantine.csv"

    def scene_dir(self, city: str) -> Path:
        return self.city_dir(city) / "scene"

    def scene(self, city: str) -> Path:
        return self.scene_dir(city) / "scene.parquet"

    def survey_dir(self, city: str) -> Path:  # votes.parquet (individual level), qscores.parquet
        return self.city_dir(city) / "survey"

    def votes(self, city: str) -> Path:
        return self.survey_dir(city) / "votes.parquet"

    def qscores(self, city: str) -> Path:
        return self.survey_dir(city) / "qscores.parquet"

    def descriptions_dir(self, city: str) -> Path:
        return self.root / "descriptions" / city

    def descriptions(self, city: str, target: str) -> Path:
        """target is 'general' or '<group>-<scenario>'."""
        return self.descriptions_dir(city) / f"{target}.parquet"

    def embed_dir(self, city: str) -> Path:
        return self.city_dir(city) / "embed"

    # training ---------------------------------------------------------------------------------
    def labels(self) -> Path:
        return self.root / "data" / "labels" / "general.parquet"

    def general_model_dir(self) -> Path:
        return self.root / "models" / "general"

    def finetune_dir(self, target: str) -> Path:
        return self.root / "models" / "finetune" / target

    def pseudo_labels(self, target: str) -> Path:
        return self.root / "pseudo_labels" / f"{target}.parquet"

    def evaluation_dir(self) -> Path:
        return self.root / "reports" / "evaluation"

    # downstream -------------------------------------------------------------------------------
    def metrics(self, name: str) -> Path:
        return self.root / "metrics" / f"{name}.json"

    def registry_dir(self) -> Path:
        return self.root / "registry"

    def maps_dir(self, city: str) -> Path:
        return self.root / "maps" / city

    def predictions(self, city: str) -> Path:
        return self.maps_dir(city) / "predictions.parquet"

    def drift_dir(self, city: str) -> Path:
        return self.root / "monitoring" / "reports" / city

    def cache_dir(self, cache_dir: str = ".cache/perceptops") -> Path:
        env = os.environ.get("PERCEPTOPS_CACHE")
        p = Path(env) if env else Path(cache_dir)
        return p if p.is_absolute() else self.root / p
