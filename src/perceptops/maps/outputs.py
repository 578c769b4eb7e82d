"""What a city's maps folder holds besides the PNGs: GeoJSON, summary.json and a static index.html."""

from __future__ import annotations

import html
import json
import math
from typing import Any

import numpy as np
import pandas as pd

GEO_FIELDS = ["image_id", "source_id", "lat", "lon"]


def _num(x: Any, nd: int = 4) -> float | None:
    if x is None:
        return None
    try:
        f = float(x)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) else round(f, nd)


def wide_scores(pred: pd.DataFrame, valid: pd.DataFrame) -> pd.DataFrame:
    """One row per valid image: image_id, source_id, lat, lon + one score column per target."""
    base = valid[[c for c in GEO_FIELDS if c in valid.columns]].copy()
    for c in GEO_FIELDS:
        if c not in base.columns:
            base[c] = np.nan if c in ("lat", "lon") else None
    if pred.empty:
        return base
    wide = pred.pivot_table(index="image_id", columns="target", values="score", aggfunc="first")
    wide.columns = [str(c) for c in wide.columns]
    return base.merge(wide.reset_index(), on="image_id", how="left")


def has_coords(df: pd.DataFrame) -> pd.Series:
    lat = pd.to_numeric(df["lat"], errors="coerce")
    lon = pd.to_numeric(df["lon"], errors="coerce")
    return lat.between(-90, 90) & lon.between(-180, 180)


def geojson(wide: pd.DataFrame, targets: list[str], models: dict[str, dict[str, str]]) -> dict[str, Any]:
    """FeatureCollection of the images with coordinates; every score of every model on each point."""
    feats = []
    for row in wide[has_coords(wide)].itertuples(index=False):
        r = row._asdict()
        props: dict[str, Any] = {"image_id": r["image_id"], "source_id": r.get("source_id")}
        for t in targets:
            props[t] = _num(r.get(t))
        feats.append(
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [float(r["lon"]), float(r["lat"])]},
                "properties": props,
            }
        )
    # foreign member: which registered version produced each score column
    return {"type": "FeatureCollection", "models": models, "features": feats}


def target_summary(
    wide: pd.DataFrame, target: str, threshold: float, top: int, general: str | None = "general"
) -> dict[str, Any]:
    s = pd.to_numeric(wide[target], errors="coerce")
    ok = s.notna()
    out: dict[str, Any] = {
        "n": int(ok.sum()),
        "mean_score": _num(s[ok].mean()),
        "share_unsafe": _num((s[ok] < threshold).mean()),
    }
    if general is None or general not in wide.columns or target == general:
        return out
    g = pd.to_numeric(wide[general], errors="coerce")
    both = ok & g.notna()
    gap = (s - g)[both]
    out["n_compared"] = int(both.sum())
    out["mean_gap"] = _num(gap.mean())  # group - general; negative: the group feels less safe
    out["share_less_safe"] = _num((gap < 0).mean())
    worst = wide[both].assign(_gap=gap, _g=g[both], _s=s[both]).nsmallest(top, "_gap")
    out["largest_gaps"] = [
        {
            "image_id": r["image_id"],
            "source_id": r.get("source_id"),
            "lat": _num(r.get("lat"), 6),
            "lon": _num(r.get("lon"), 6),
            "score": _num(r["_s"]),
            "general_score": _num(r["_g"]),
            "gap": _num(r["_gap"]),
        }
        for _, r in worst.iterrows()
    ]
    return out


def index_html(city: str, summary: dict[str, Any]) -> str:
    """A static page: the maps with model names + versions, difference maps, the summary table."""
    e = html.escape
    models = summary["models"]
    rows = []
    for t, m in models.items():
        g = summary["targets"].get(t, {})
        rows.append(
            "<tr>"
            + "".join(
                f"<td>{e(str(v))}</td>"
                for v in (
                    t,
                    m["model"],
                    m["version"],
                    g.get("n"),
                    g.get("mean_score"),
                    g.get("share_unsafe"),
                    g.get("mean_gap", ""),
                    g.get("share_less_safe", ""),
                )
            )
            + "</tr>"
        )
    cards = []
    for t, m in models.items():
        if not m.get("map"):  # no image of this model has coordinates
            continue
        cards.append(
            f'<figure><img src="{e(m["map"])}" alt="{e(t)} map"><figcaption>{e(m["model"])} '
            f"v{e(m['version'])}</figcaption></figure>"
        )
    diffs = []
    for t, m in models.items():
        if m.get("diff_map"):
            diffs.append(
                f'<figure><img src="{e(m["diff_map"])}" alt="{e(t)} minus general"><figcaption>{e(t)} '
                f"(v{e(m['version'])}) minus general (v{e(models['general']['version'])})</figcaption></figure>"
            )
    skipped = "".join(f"<li>{e(s)}</li>" for s in summary.get("skipped", []))
    gaps = []
    for t, g in summary["targets"].items():
        if g.get("largest_gaps"):
            items = "".join(
                f"<li>{e(str(x['source_id'] or x['image_id'][:12]))} ({x['lat']}, {x['lon']}): "
                f"{x['score']} vs general {x['general_score']} (gap {x['gap']})</li>"
                for x in g["largest_gaps"]
            )
            gaps.append(f"<details><summary>{e(t)}: largest gaps</summary><ol>{items}</ol></details>")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>perceptops maps: {e(city)}</title>
<style>
body{{font-family:system-ui,sans-serif;margin:1.5em;max-width:1400px}}
table{{border-collapse:collapse;margin:1em 0}}td,th{{border:1px solid #ccc;padding:.25em .6em;text-align:right}}
td:first-child,td:nth-child(2){{text-align:left}}
.grid{{display:grid;grid-template-columns:repeat(auto-fill,minmax(420px,1fr));gap:1em}}
figure{{margin:0}}img{{width:100%}}figcaption{{font-size:.9em;color:#333}}
</style></head><body>
<h1>Perceived safety maps: {e(city)}</h1>
<p>{summary["n_valid"]} valid images, {summary["n_scored"]} scored;
<strong>{summary["without_coordinates"]} scored images have no coordinates</strong> and are left off the maps.
Scores are 0-10 (10 x P(safe)); unsafe means below {summary["threshold"]:g}.
Difference maps show group minus general: red where the group feels less safe.</p>
<h2>Summary</h2>
<table><tr><th>target</th><th>model</th><th>version</th><th>images</th><th>mean score</th><th>share unsafe</th>
<th>mean gap vs general</th><th>share less safe</th></tr>
{"".join(rows)}</table>
{"<h3>Skipped</h3><ul>" + skipped + "</ul>" if skipped else ""}
{"<p><strong>No model was scored: see Skipped.</strong></p>" if not models else ""}
<h2>Maps ({len(cards)})</h2><div class="grid">{"".join(cards)}</div>
<h2>Difference maps ({len(diffs)})</h2><div class="grid">{"".join(diffs)}</div>
<h2>Largest group-general gaps</h2>{"".join(gaps)}
<p><a href="predictions.geojson">predictions.geojson</a> · <a href="summary.json">summary.json</a></p>
</body></html>
"""


def dumps(obj: Any) -> str:
    return json.dumps(obj, indent=2, sort_keys=True, default=str)
