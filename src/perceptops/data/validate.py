"""``validate@city``: Great Expectations suites on the manifest + per-image checks -> valid / quarantine.

Every item ends in exactly one place: ``valid.parquet`` or ``quarantine.csv`` (one reason code and
a detail each). The stage fails only when the bad share exceeds ``validate.max_bad_share``, after
writing its outputs so the user can read what went wrong.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from perceptops.data import images
from perceptops.data.ingest import REJECTED, REPORT
from perceptops.data.manifest import QUARANTINE_COLUMNS, VALID_COLUMNS, read_manifest
from perceptops.data.phash import near_duplicates, phash
from perceptops.data.sources import PATH_ESCAPE, safe_path, source_root
from perceptops.errors import DataError
from perceptops.paths import Layout
from perceptops.utils import read_json, write_json, write_parquet

if TYPE_CHECKING:
    import pandas as pd

    from perceptops.config import Params

CHANGED = "changed_since_ingest"
DUPLICATE = "duplicate"
NEAR_DUPLICATE = "near_duplicate"
# Manifest expectations -> reason code of the rows they flag.
GX_REASONS = {
    "image_id_hex": "bad_id",
    "width_positive": "bad_size",
    "height_positive": "bad_size",
    "lat_range": "bad_lat",
    "lon_range": "bad_lon",
    "bbox_lat": "outside_bbox",
    "bbox_lon": "outside_bbox",
}


def manifest_expectations(params: Params, city: str) -> list[tuple[str, Any]]:
    """The GX 1.x expectations on a manifest, by name (names map to reason codes in GX_REASONS)."""
    import great_expectations.expectations as gxe

    cp = params.city(city)
    exps: list[tuple[str, Any]] = [
        ("image_id_hex", gxe.ExpectColumnValuesToMatchRegex(column="image_id", regex=r"^[0-9a-f]{64}$")),
        ("image_id_unique", gxe.ExpectColumnValuesToBeUnique(column="image_id")),
        ("path_unique", gxe.ExpectColumnValuesToBeUnique(column="path")),
        ("width_positive", gxe.ExpectColumnValuesToBeBetween(column="width", min_value=1)),
        ("height_positive", gxe.ExpectColumnValuesToBeBetween(column="height", min_value=1)),
        # NaN (unknown location) counts as null: GX skips it, as it should.
        ("lat_range", gxe.ExpectColumnValuesToBeBetween(column="lat", min_value=-90, max_value=90)),
        ("lon_range", gxe.ExpectColumnValuesToBeBetween(column="lon", min_value=-180, max_value=180)),
    ]
    if cp.bbox is not None:
        la0, lo0, la1, lo1 = cp.bbox
        exps += [
            ("bbox_lat", gxe.ExpectColumnValuesToBeBetween(column="lat", min_value=la0, max_value=la1)),
            ("bbox_lon", gxe.ExpectColumnValuesToBeBetween(column="lon", min_value=lo0, max_value=lo1)),
        ]
    return exps


def run_manifest_suite(
    params: Params, city: str, manifest: pd.DataFrame
) -> tuple[dict, dict[str, list[str]]]:
    """Validate the manifest with GX; returns (summary per expectation, flagged paths per expectation)."""
    import warnings

    from perceptops.gx import ephemeral_context

    ctx = ephemeral_context()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import great_expectations as gx

        asset = ctx.data_sources.add_pandas(f"perceptops-{city}").add_dataframe_asset("manifest")
        batch_def = asset.add_batch_definition_whole_dataframe("all")
        suite = gx.ExpectationSuite(name=f"manifest-{city}")
        named = manifest_expectations(params, city)
        for name, exp in named:
            exp.meta = {"perceptops": name}  # how results are matched back to names (order is not promised)
            suite.add_expectation(exp)
        frame = manifest[["path", "image_id", "width", "height", "lat", "lon"]].reset_index(drop=True)
        batch = batch_def.get_batch(batch_parameters={"dataframe": frame})
        res = batch.validate(
            suite, result_format={"result_format": "COMPLETE", "unexpected_index_column_names": ["path"]}
        )
    summary: dict[str, Any] = {}
    flagged: dict[str, list[str]] = {}
    by_name = {(r.expectation_config.meta or {}).get("perceptops"): r for r in res.results}
    for name, _ in named:
        r = by_name.get(name)
        if r is None:
            continue
        rows = r.result.get("unexpected_index_list") or []
        flagged[name] = [x["path"] for x in rows if isinstance(x, dict) and "path" in x]
        summary[name] = {"success": bool(r.success), "unexpected": int(r.result.get("unexpected_count") or 0)}
    return summary, flagged


def validate_city(params: Params, layout: Layout, city: str) -> dict:
    """Write ``data/<city>/valid/{valid.parquet,quarantine.csv}`` and ``metrics/validate/<city>.json``."""
    import pandas as pd

    from perceptops.progress import track

    vp = params.validate_params
    manifest = read_manifest(layout, city)
    ingest_dir = layout.ingest_dir(city)
    rejected = (
        pd.read_csv(ingest_dir / REJECTED, dtype=str).fillna("")
        if (ingest_dir / REJECTED).is_file()
        else (pd.DataFrame(columns=["path", "source_id", "reason", "detail"]))
    )
    report = read_json(ingest_dir / REPORT) if (ingest_dir / REPORT).is_file() else {}
    root = source_root(params, layout, city)

    quarantine: list[dict] = [
        {"path": r["path"], "image_id": "", "reason": r["reason"], "detail": r["detail"]}
        for r in rejected.to_dict("records")
    ]
    reason: dict[str, tuple[str, str]] = {}  # path -> (code, detail); the first check that fails wins
    extra: dict[str, tuple[str, str]] = {}  # path -> (phash, orig_mode)
    recs = manifest.to_dict("records")
    for m in track(recs, description=f"validate {city}", total=len(recs)):
        p, why = safe_path(root, m["path"])
        if p is None:  # defence in depth: never read outside the root even if the manifest says so
            reason[m["path"]] = (PATH_ESCAPE, why)
            continue
        try:
            if images.hash_file(p) != m["image_id"]:
                reason[m["path"]] = (CHANGED, "file bytes differ from the manifest: re-run ingest")
                continue
            img, mode = images.decode_rgb(p, vp.max_pixels, (vp.min_width, vp.min_height))
        except images.ImageRejected as err:
            reason[m["path"]] = (err.reason, err.detail)
            continue
        extra[m["path"]] = (phash(img), mode)

    gx_summary: dict = {}
    if len(manifest):
        gx_summary, flagged = run_manifest_suite(params, city, manifest)
        cols = {"bad_lat": "lat", "bad_lon": "lon", "outside_bbox": "lat/lon", "bad_size": "width/height"}
        by_path = manifest.set_index("path")
        for name, paths in flagged.items():
            code = GX_REASONS.get(name)
            if code is None:
                continue  # uniqueness: handled below, keeping the first copy
            for pth in paths:
                if pth not in reason:
                    row = by_path.loc[pth]
                    seen = ", ".join(f"{k}={row[k]}" for k in ("lat", "lon", "width", "height"))
                    reason[pth] = (
                        code,
                        f"expectation {name} failed on {cols.get(code, 'image_id')} ({seen})",
                    )

    ok = manifest[~manifest["path"].isin(reason)].sort_values("path", kind="stable")
    # Exact duplicates: same bytes under several names -> keep the first path, quarantine the rest.
    first_path = ok.groupby("image_id", sort=False)["path"].transform("first")
    for pth, fp in zip(ok["path"], first_path, strict=True):
        if pth != fp:
            reason[pth] = (DUPLICATE, f"same bytes (sha256) as {fp}")
    ok = ok[~ok["path"].isin(reason)].reset_index(drop=True)

    ok["phash"] = [extra[p][0] for p in ok["path"]]
    ok["orig_mode"] = [extra[p][1] for p in ok["path"]]
    near = near_duplicates(list(ok["phash"]), vp.near_duplicates.max_distance)
    ids = list(ok["image_id"])
    ok["near_duplicate_of"] = [ids[j] if j is not None else None for j in near]
    n_near = int(ok["near_duplicate_of"].notna().sum())
    if vp.near_duplicates.action == "drop":
        paths = list(ok["path"])
        for i, j in enumerate(near):
            if j is not None:
                reason[paths[i]] = (
                    NEAR_DUPLICATE,
                    f"perceptual hash within {vp.near_duplicates.max_distance} bits of {paths[j]}",
                )
        ok = ok[ok["near_duplicate_of"].isna()].reset_index(drop=True)

    ids_by_path = dict(zip(manifest["path"], manifest["image_id"], strict=True))
    quarantine += [
        {"path": p, "image_id": ids_by_path.get(p, ""), "reason": c, "detail": d}
        for p, (c, d) in sorted(reason.items())
    ]
    q = pd.DataFrame(quarantine, columns=QUARANTINE_COLUMNS).sort_values(["path", "reason"], kind="stable")
    valid = ok[VALID_COLUMNS].reset_index(drop=True)

    out = layout.valid_dir(city)
    out.mkdir(parents=True, exist_ok=True)
    write_parquet(valid, layout.valid_manifest(city))
    q.to_csv(layout.quarantine(city), index=False)

    total = len(manifest) + len(rejected)
    by_reason = {k: int(v) for k, v in q["reason"].value_counts().sort_index().items()}
    # Exact and dropped near duplicates are de-duplication (one copy stays valid), not bad input: they are
    # quarantined and counted but do not count as bad. Place Pulse 1.0 has 515 duplicate photos in 1,443.
    bad = len(q) - by_reason.get(NEAR_DUPLICATE, 0) - by_reason.get(DUPLICATE, 0)
    bad_share = bad / total if total else 1.0
    metrics = {
        "total": total,
        "valid": len(valid),
        "quarantined": len(q),
        "bad_share": round(bad_share, 6),
        "max_bad_share": vp.max_bad_share,
        "by_reason": by_reason,
        "duplicates": by_reason.get(DUPLICATE, 0),
        "near_duplicates": n_near,
        "near_duplicate_action": vp.near_duplicates.action,
        "ingest_issues": report.get("issues", {}),
        "expectations": gx_summary,
        "passed": bool(total > 0 and bad_share <= vp.max_bad_share),
    }
    write_json(layout.metrics(f"validate/{city}"), metrics)
    if total == 0:
        raise DataError(
            f"city {city!r} has no images: check cities.{city}.path / filter / limit in params.yaml"
        )
    if not metrics["passed"]:
        top = ", ".join(f"{k}={v}" for k, v in sorted(by_reason.items(), key=lambda kv: -kv[1])[:4])
        raise DataError(
            f"city {city!r}: {bad} of {total} images are bad ({bad_share:.1%} > validate.max_bad_share="
            f"{vp.max_bad_share}); reasons: {top}; see {layout.quarantine(city)}"
        )
    return metrics


def main(city: str) -> dict:
    """Stage entry point: params.yaml of the project at hand, default layout."""
    from perceptops.config import load_params

    r = validate_city(load_params(), Layout(), city)
    print(
        f"validate {city}: {r['valid']}/{r['total']} valid, quarantined {r['by_reason']}, near duplicates {r['near_duplicates']}"
    )
    return r
