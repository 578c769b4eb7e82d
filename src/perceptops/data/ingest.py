"""``ingest@city``: list a source, hash every candidate, write the manifest (image id = sha256 of bytes).

Ingest never fails on a bad file: unreadable or escaping paths go to ``ingest/rejected.csv`` (merged
into the quarantine by validate), CSV problems are counted in ``ingest/report.json``. Only the header
is looked at (for width/height); decoding is validate's job.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from perceptops.data import images
from perceptops.data.manifest import typed_manifest
from perceptops.data.sources import MISSING_FILE, PATH_ESCAPE, list_source, safe_path, source_root
from perceptops.paths import Layout
from perceptops.utils import write_json, write_parquet

if TYPE_CHECKING:
    from perceptops.config import Params

REJECTED = "rejected.csv"
REPORT = "report.json"
HEADER_LIMIT = 1 << 62  # ingest records sizes only; the pixel guard is validate's (validate.max_pixels)


def ingest_city(params: Params, layout: Layout, city: str) -> dict:
    """Write ``data/<city>/ingest/``: manifest.parquet, rejected.csv, report.json (+ scores / raw votes)."""
    import pandas as pd

    from perceptops.progress import track

    cp = params.city(city)
    out = layout.ingest_dir(city)
    out.mkdir(parents=True, exist_ok=True)
    lst = list_source(params, layout, city)
    root = source_root(params, layout, city)

    rows, rejected = [], []
    cands = lst.candidates.to_dict("records")
    for c in track(cands, description=f"ingest {city}", total=len(cands)):
        p, why = safe_path(root, c["path"])
        if p is None:  # never read: it points outside the source root
            rejected.append(
                {"path": c["path"], "source_id": c["source_id"], "reason": PATH_ESCAPE, "detail": why}
            )
            continue
        if not p.exists():
            rejected.append(
                {
                    "path": c["path"],
                    "source_id": c["source_id"],
                    "reason": MISSING_FILE,
                    "detail": f"{p} does not exist",
                }
            )
            continue
        try:
            image_id = images.hash_file(p)
        except images.ImageRejected as err:
            rejected.append(
                {"path": c["path"], "source_id": c["source_id"], "reason": err.reason, "detail": err.detail}
            )
            continue
        try:
            h = images.read_header(p, HEADER_LIMIT)
            w, hh = h.width, h.height
        except images.ImageRejected:
            w = hh = 0  # validate decides why (empty, undecodable, too large)
        rows.append({**c, "image_id": image_id, "width": w, "height": hh, "city": city, "source": cp.source})

    base = pd.DataFrame(
        rows, columns=[*lst.candidates.columns, "image_id", "width", "height", "city", "source"]
    )
    manifest = typed_manifest(base)
    write_parquet(manifest, layout.manifest(city))
    rej = pd.DataFrame(rejected, columns=["path", "source_id", "reason", "detail"])
    rej.to_csv(out / REJECTED, index=False)
    if lst.scores is not None:
        write_parquet(lst.scores.reset_index(drop=True), out / "scores.parquet")
    if lst.raw_votes is not None:
        write_parquet(lst.raw_votes.reset_index(drop=True), out / "raw_votes.parquet")
    report = {
        "city": city,
        "source": cp.source,
        "candidates": len(cands),
        "manifest": len(manifest),
        "rejected": len(rej),
        "rejected_by_reason": {k: int(v) for k, v in rej["reason"].value_counts().sort_index().items()},
        "issues": dict(sorted(lst.issues.items())),
        "notes": lst.notes,
    }
    write_json(out / REPORT, report)
    return report


def main(city: str) -> dict:
    """Stage entry point: params.yaml of the project at hand, default layout."""
    from perceptops.config import load_params

    r = ingest_city(load_params(), Layout(), city)
    print(
        f"ingest {city}: {r['manifest']} images in the manifest, {r['rejected']} rejected, issues {r['issues']}"
    )
    return r
