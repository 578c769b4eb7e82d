"""``perceptops status``: what the pipeline has produced, read from the outs on disk (no DVC call)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from perceptops.config import load_params
from perceptops.paths import Layout, project_root


def _count_rows(path: Path) -> int | None:
    if not path.is_file():
        return None
    try:
        import pyarrow.parquet as pq

        return pq.ParquetFile(path).metadata.num_rows
    except Exception:  # unreadable: report as present with unknown size
        return -1


def _metric(path: Path) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def collect_status(root: Path | None = None) -> dict[str, Any]:
    root = root or project_root()
    params = load_params(root / "params.yaml")
    lay = Layout(root)
    cities: dict[str, Any] = {}
    for city in params.cities:
        descr = lay.descriptions_dir(city)
        cities[city] = {
            "source": params.cities[city].source,
            "manifest_images": _count_rows(lay.manifest(city)),
            "valid_images": _count_rows(lay.valid_manifest(city)),
            "scene_parsed": _count_rows(lay.scene(city)),
            "survey_votes": _count_rows(lay.votes(city)),
            "description_files": len(list(descr.glob("*.parquet"))) if descr.is_dir() else 0,
            "embedded": lay.embed_dir(city).is_dir(),
            "scored": _count_rows(lay.predictions(city)),
            "drift": _metric(lay.metrics(f"drift/{city}")),
        }
    models = {
        "general": (lay.general_model_dir() / "model.pt").is_file(),
        **{t: (lay.finetune_dir(t) / "model.pt").is_file() for t in params.target_names()},
    }
    return {
        "project": str(root),
        "train_city": params.train_city,
        "cities": cities,
        "models": models,
        "evaluation": _metric(lay.metrics("evaluate")),
        "registered": _metric(lay.registry_dir() / "registered.json"),
    }


def _fmt(v: Any) -> str:
    if v is None or v is False:
        return "[dim]-[/]"
    if v is True:
        return "[green]yes[/]"
    return str(v)


def render_status(report: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    con = Console()
    con.print(f"[bold]project[/] {report['project']}  (train city: {report['train_city']})")
    t = Table(title="cities")
    cols = [
        "source",
        "manifest_images",
        "valid_images",
        "scene_parsed",
        "survey_votes",
        "description_files",
        "embedded",
        "scored",
    ]
    t.add_column("city")
    for c in [*cols, "drift"]:
        t.add_column(c.replace("_", " "))
    for city, info in report["cities"].items():
        drift = info["drift"]
        verdict = drift.get("verdict") if isinstance(drift, dict) else None
        t.add_row(city, *[_fmt(info[c]) for c in cols], _fmt(verdict))
    con.print(t)
    m = Table(title="models")
    m.add_column("model")
    m.add_column("trained")
    for name, ok in report["models"].items():
        m.add_row(name, _fmt(ok))
    con.print(m)
    reg = report.get("registered")
    if reg:
        con.print(f"[bold]registered[/]: {json.dumps(reg)[:400]}")
    else:
        con.print("[dim]nothing registered yet: run `dvc repro` (or `make demo`)[/]")
