"""MLflow tracking, lineage tags, promotion gates, audit, rollback.

Light at import (no mlflow): the helpers below import what they need when called.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

GENERAL = "general"
PREFIX = "safety-"
CANDIDATE = "candidate"
CHAMPION = "champion"


def model_name(target: str) -> str:
    """'general' -> 'safety-general'; 'women-crime' -> 'safety-women-crime'."""
    return f"{PREFIX}{target}"


def target_of(name: str) -> str:
    """Inverse of :func:`model_name`."""
    return name[len(PREFIX) :] if name.startswith(PREFIX) else name


def tracking_uri(params: Any, root: Path | None = None) -> str:
    from perceptops.registry.tracking import tracking_uri as _uri

    return _uri(params, root)


def load_champion(name: str, params: Any = None, root: Path | None = None, alias: str = CHAMPION):
    """The SafetyModel behind ``models:/NAME@champion`` (via perceptops.model.io.load_model)."""
    from perceptops.registry.tracking import load_registered

    return load_registered(name, alias=alias, params=params, root=root)


__all__ = ["CANDIDATE", "CHAMPION", "GENERAL", "load_champion", "model_name", "target_of", "tracking_uri"]
