"""``score_city``: predictions, maps, GeoJSON, summary and the static page for one city."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from perceptops.config import Params, check_name
from perceptops.errors import ConfigError, DataError
from perceptops.maps.champions import Champion, Scorer, load_champions, load_model_dir
from perceptops.maps.outputs import geojson, has_coords, index_html, target_summary, wide_scores
from perceptops.maps.scoring import read_valid_ids, score_embeddings
from perceptops.paths import Layout
from perceptops.utils import write_json, write_parquet

log = logging.getLogger(__name__)


def _check_city(params: Params, city: str) -> None:
    try:
        check_name(city, "city")
    except ValueError as err:
        raise ConfigError(str(err)) from None
    params.city(city)  # unknown city: ConfigError listing the known ones


def score_city(
    params: Params,
    root: Path,
    city: str,
    champions: list[Champion] | None = None,
    loader: Callable[[Path], Scorer] = load_model_dir,
    echo: Callable[[str], Any] = print,
) -> dict[str, Any]:
    """Score every valid image of ``city`` with each champion and write ``maps/<city>/``. Returns the summary."""
    from perceptops.maps.render import point_map
    from perceptops.progress import track

    _check_city(params, city)
    layout = Layout(root)
    valid = read_valid_ids(layout, city)
    if valid.empty:
        raise DataError(
            f"city {city!r} has no valid images ({layout.valid_manifest(city)}): nothing to score"
        )
    valid = valid.assign(image_id=valid["image_id"].astype(str))
    skipped: list[str] = []
    if champions is None:
        champions, skipped = load_champions(params, root, loader=loader)
    for msg in skipped:
        echo(f"skipped {msg}")
    if not champions:  # the page still says why (a pipeline run must not crash on an unpromoted model)
        echo(
            "warning: no model has a 'champion' version, nothing to map: promote one "
            "('perceptops promote MODEL VERSION') and re-run"
        )
    threshold = params.evaluate.threshold
    res = score_embeddings(layout, city, valid["image_id"].tolist(), champions, threshold)
    for msg in res.skipped:
        echo(f"skipped {msg}")
    skipped += res.skipped
    pred = res.predictions
    if pred.empty and champions:
        echo(f"warning: no image of {city!r} could be scored: " + "; ".join(skipped))

    out = layout.maps_dir(city)
    out.mkdir(parents=True, exist_ok=True)
    for old in [*out.glob("*.png"), out / "index.html"]:  # a hand re-run must not leave stale maps
        old.unlink(missing_ok=True)
    write_parquet(pred, layout.predictions(city))

    # general first: the difference maps of the groups need its scores
    scored = sorted(
        (c for c in champions if c.target in set(pred["target"])), key=lambda c: c.target != "general"
    )
    targets = [c.target for c in scored]
    wide = wide_scores(pred, valid)
    geo = has_coords(wide)
    n_scored = int(wide[targets].notna().any(axis=1).sum())
    n_nocoord = int((~geo & wide[targets].notna().any(axis=1)).sum())
    if n_nocoord:
        echo(f"{n_nocoord} scored images have no coordinates: left off the maps, counted on the page")
    models: dict[str, dict[str, Any]] = {}
    on_map = wide[geo]
    for ch in track(scored, description=f"maps {city}", total=len(scored)):
        entry: dict[str, Any] = {"model": ch.name, "version": ch.version, "run_id": ch.run_id, "map": None}
        rows = on_map[on_map[ch.target].notna()]
        if len(rows):
            entry["map"] = f"{ch.name}.png"
            point_map(
                out / entry["map"], rows["lat"], rows["lon"], rows[ch.target],
                f"{city}: {ch.name} v{ch.version} ({len(rows)} images)", point_size=params.maps.point_size,
            )  # fmt: skip
        if ch.target != "general" and "general" in targets:
            both = rows[rows["general"].notna()]
            if len(both):
                entry["diff_map"] = f"diff-{ch.target}.png"
                point_map(
                    out / entry["diff_map"], both["lat"], both["lon"], both[ch.target] - both["general"],
                    f"{city}: {ch.target} v{ch.version} minus general v{models['general']['version']}",
                    diverging=True, point_size=params.maps.point_size,
                    label="group - general (red: feels less safe)",
                )  # fmt: skip
        models[ch.target] = entry

    summary: dict[str, Any] = {
        "city": city,
        "threshold": threshold,
        "n_valid": len(valid),
        "n_scored": n_scored,
        "without_coordinates": n_nocoord,
        "models": models,
        "skipped": skipped,
        "missing_embeddings": res.missing,
        "targets": {
            t: target_summary(
                wide, t, threshold, params.maps.top_gaps, "general" if "general" in targets else None
            )
            for t in targets
        },
    }
    versions = {t: {"model": m["model"], "version": m["version"]} for t, m in models.items()}
    write_json(out / "predictions.geojson", geojson(wide, targets, versions))
    write_json(out / "summary.json", summary)
    (out / "index.html").write_text(index_html(city, summary))
    return summary


def run(city: str) -> None:
    """Stage entry (stages/score_city.py)."""
    from perceptops.config import load_params
    from perceptops.paths import project_root

    root = project_root()
    s = score_city(load_params(root / "params.yaml"), root, city)
    print(f"maps/{city}: {len(s['models'])} models, {s['n_scored']} images scored")


def read_predictions(layout: Layout, city: str) -> pd.DataFrame:
    path = layout.predictions(city)
    if not path.is_file():
        raise DataError(
            f"{path} not found: run 'perceptops score --city {city}' (or dvc repro score_city@{city})"
        )
    return pd.read_parquet(path)
