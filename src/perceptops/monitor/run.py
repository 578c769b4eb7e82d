"""``drift_city``: the Evidently report, summary and DVC metric of one city against its reference."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from perceptops.config import Params, check_name
from perceptops.errors import ConfigError, DataError
from perceptops.monitor.compare import compare
from perceptops.monitor.features import CityFeatures, city_features
from perceptops.monitor.settings import DriftSettings, load_settings
from perceptops.paths import Layout
from perceptops.utils import write_json

VERDICTS = ("drifted", "ok", "reference")


def check_city(params: Params, city: str, what: str = "city") -> None:
    try:
        check_name(city, what)
    except ValueError as err:
        raise ConfigError(f"{err} (given to perceptops drift / drift@<city>)") from None
    if city not in params.cities:
        raise ConfigError(f"unknown {what} {city!r}; known cities: {', '.join(sorted(params.cities))}")


def reference_city(params: Params, given: str | None = None) -> str:
    return given or params.drift.reference or params.train_city


def _enough(cf: CityFeatures, params: Params, label: str) -> None:
    n, need = len(cf.table), params.drift.min_images
    if n < need:
        what = "no valid images" if n == 0 else f"only {n} valid images"
        raise DataError(
            f"{label} has {what}; drift needs at least drift.min_images = {need} per side "
            f"(add images, or lower drift.min_images in params.yaml)"
        )


def self_split(cf: CityFeatures, fraction: float, seed: int) -> tuple[CityFeatures, CityFeatures]:
    """Two disjoint seeded random parts of one city (the no-false-alarm self-check)."""
    rng = np.random.default_rng(seed)
    ids = cf.table.index.to_numpy()
    perm = rng.permutation(len(ids))
    k = int(round(len(ids) * fraction))
    a, b = pd.Index(ids[perm[:k]], name="image_id"), pd.Index(ids[perm[k:]], name="image_id")
    return cf.subset(a), cf.subset(b)


def drift_city(
    params: Params,
    root: Path,
    city: str,
    reference: str | None = None,
    settings: DriftSettings | None = None,
    echo: Callable[[str], Any] = print,
) -> dict[str, Any]:
    """Compare ``city`` with ``reference`` and write monitoring/reports/<city>/ + metrics/drift/<city>.json."""
    check_city(params, city)
    ref_name = reference_city(params, reference)
    check_city(params, ref_name, "reference city")
    settings = settings or load_settings(root)
    layout = Layout(root)
    is_ref = ref_name == city
    cur = city_features(params, layout, city, settings)
    if is_ref:
        _enough(cur, params, f"reference city {city!r} (compared with itself, in two halves)")
        ref, cur = self_split(cur, settings.self_check.fraction, params.project.seed)
        _enough(
            ref,
            params,
            f"each half of reference city {city!r} (self-check; {len(cur.table)} + {len(ref.table)})",
        )
        _enough(
            cur,
            params,
            f"each half of reference city {city!r} (self-check; {len(cur.table)} + {len(ref.table)})",
        )
    else:
        _enough(cur, params, f"city {city!r}")
        ref = city_features(params, layout, ref_name, settings, role="reference city")
        _enough(ref, params, f"reference city {ref_name!r}")
    res = compare(params, settings, ref, cur)

    n = len(res.features)
    drifted = [f for f in res.features if f["drifted"]]
    share = len(drifted) / n if n else 0.0
    is_drifted = share >= params.drift.drift_share
    verdict = "reference" if is_ref else ("drifted" if is_drifted else "ok")
    by_group: dict[str, dict[str, Any]] = {}
    for f in res.features:
        g = by_group.setdefault(f["group"], {"features": 0, "drifted": 0})
        g["features"] += 1
        g["drifted"] += int(f["drifted"])
    for g in by_group.values():
        g["share"] = round(g["drifted"] / g["features"], 4)
    reads = {**ref.reads, **cur.reads}
    summary: dict[str, Any] = {
        "city": city,
        "reference": ref_name,
        "verdict": verdict,
        "self_check": ("false_alarm" if is_drifted else "ok") if is_ref else None,
        "drift_share": round(share, 4),
        "drift_share_threshold": params.drift.drift_share,
        "n_features": n,
        "n_drifted": len(drifted),
        "drifted_features": sorted(
            ({k: f.get(k) for k in ("feature", "group", "method", "score", "shift_sd")} for f in drifted),
            key=lambda f: (f["group"], f["feature"]),
        ),
        "groups": by_group,
        "features": res.features,
        "skipped": res.skipped,
        "n_reference": res.n_reference,
        "n_current": res.n_current,
        "inputs": {
            str(Path(p).relative_to(root)) if Path(p).is_relative_to(root) else p: v for p, v in reads.items()
        },
        "recomputed": 0,  # features are read from the outs above; nothing is parsed or encoded here
    }
    out = layout.drift_dir(city)
    out.mkdir(parents=True, exist_ok=True)
    if res.snapshot is not None:
        res.snapshot.save_html(str(out / "report.html"))
        res.snapshot.save_json(str(out / "report.json"))
    else:
        for f in ("report.html", "report.json"):
            (out / f).unlink(missing_ok=True)
    write_json(out / "summary.json", summary)
    write_json(
        layout.metrics(f"drift/{city}"),
        {
            "verdict": verdict,
            "reference": ref_name,
            "drift_share": summary["drift_share"],
            "drifted_features": len(drifted),
            "n_features": n,
            "self_check": summary["self_check"],
        },
    )
    echo(
        f"drift {city} vs {ref_name}{' (self-check halves)' if is_ref else ''}: {verdict}, "
        f"{len(drifted)}/{n} features drifted (share {share:.2f}, threshold {params.drift.drift_share})"
    )
    if is_ref and is_drifted:
        echo(
            f"warning: the self-check of {city} flags drift between two random halves: thresholds are too tight"
        )
    return summary


def run(city: str) -> None:
    """Stage entry (stages/drift.py)."""
    from perceptops.config import load_params
    from perceptops.paths import project_root

    root = project_root()
    drift_city(load_params(root / "params.yaml"), root, city)


def read_summary(layout: Layout, city: str) -> dict[str, Any]:
    from perceptops.utils import read_json

    path = layout.drift_dir(city) / "summary.json"
    if not path.is_file():
        raise DataError(f"{path} not found: run 'perceptops drift --city {city}' first")
    return read_json(path)
