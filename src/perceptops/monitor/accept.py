"""``perceptops drift --accept CITY --reason TEXT``: a person looked at the drift report and accepted it.

``monitoring/acceptances/<city>.json`` is append-only: ``{"city", "history": [entry, ...]}``, each entry
naming who, when, why, and which report (the sha256 of its summary.json, the verdict and drift share).
It is tracked in git (not a DVC out), so a re-run of the pipeline never erases a decision.
"""

from __future__ import annotations

import getpass
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from perceptops.errors import ConfigError, DataError
from perceptops.paths import Layout
from perceptops.utils import read_json, sha256_file, write_json


def acceptance_path(root: Path, city: str) -> Path:
    return root / "monitoring" / "acceptances" / f"{city}.json"


def who() -> str:
    for var in ("PERCEPTOPS_USER", "GIT_AUTHOR_NAME", "USER"):
        if os.environ.get(var):
            return os.environ[var]
    try:
        return getpass.getuser()
    except Exception:  # no passwd entry (containers)
        return "unknown"


def accept(root: Path, city: str, reason: str, by: str | None = None) -> dict[str, Any]:
    """Append an acceptance of the city's current drift report; returns the new entry."""
    if not reason or not reason.strip():
        raise ConfigError("--reason is required: say why the drift is acceptable (it is kept in the history)")
    summary_path = Layout(root).drift_dir(city) / "summary.json"
    if not summary_path.is_file():
        raise DataError(
            f"{summary_path} not found: run 'perceptops drift --city {city}' and read the report first"
        )
    summary = read_json(summary_path)
    entry = {
        "accepted_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "by": by or who(),
        "reason": reason.strip(),
        "verdict": summary.get("verdict"),
        "drift_share": summary.get("drift_share"),
        "reference": summary.get("reference"),
        "summary_sha256": sha256_file(summary_path),
    }
    path = acceptance_path(root, city)
    doc = read_json(path) if path.is_file() else {"city": city, "history": []}
    if not isinstance(doc.get("history"), list):
        raise DataError(f"{path} is not an acceptance history (no 'history' list): fix or move it")
    doc["history"].append(entry)  # append-only: earlier decisions stay
    write_json(path, doc)
    return entry


def drift_status(root: Path, city: str) -> dict[str, Any]:
    """The promotion gate's view: verdict, latest acceptance, and whether it covers the current report."""
    layout = Layout(root)
    metric = layout.metrics(f"drift/{city}")
    verdict = read_json(metric).get("verdict") if metric.is_file() else None
    path = acceptance_path(root, city)
    history = read_json(path).get("history", []) if path.is_file() else []
    latest = history[-1] if history else None
    summary = layout.drift_dir(city) / "summary.json"
    current = sha256_file(summary) if summary.is_file() else None
    covers = bool(latest and current and latest.get("summary_sha256") == current)
    return {
        "city": city,
        "verdict": verdict,
        "accepted": covers,
        "latest_acceptance": latest,
        "resolved": verdict != "drifted" or covers,
    }
