"""Describe a city: every valid image x (general + every group-scenario), through the cache.

Only missing (or previously failed) keys reach the backend; each answer is committed as it arrives.
Outputs (DVC outs): ``descriptions/<c>/<target>.parquet``, ``failures.csv``, ``metrics/describe/<c>.json``.
A failed item is recorded with its reason and retried on the next run; it never stops the city.
"""

from __future__ import annotations

import contextlib
import time
from collections import Counter
from pathlib import Path
from typing import Any

from perceptops.describe.base import Job, Outcome
from perceptops.describe.cache import ResponseCache, cache_key
from perceptops.describe.prompts import build_prompt
from perceptops.errors import DataError
from perceptops.paths import Layout
from perceptops.utils import read_json, sha256_text, stable_json, write_json, write_parquet

COLUMNS = ["image_id", "text", "rating", "factors", "backend", "model", "prompt_hash", "created"]
FAILURE_COLUMNS = ["image_id", "target", "error", "attempts"]


def cache_path(params: Any, layout: Layout) -> Path:
    return layout.cache_dir(params.project.cache_dir) / "describe" / "responses.sqlite"


def _read_valid(params: Any, layout: Layout, city: str):
    import pandas as pd

    try:
        from perceptops.data.manifest import read_valid
    except ModuleNotFoundError:  # data layer not installed: read the contract file directly
        read_valid = None
    if read_valid is not None:
        return read_valid(layout, city)
    path = layout.valid_manifest(city)
    if not path.is_file():
        raise DataError(f"{path} is missing: run the validate stage first (dvc repro validate@{city})")
    return pd.read_parquet(path)


def _source_root(params: Any, layout: Layout, city: str) -> Path:
    try:
        from perceptops.data.sources import source_root
    except ModuleNotFoundError:  # same contract as perceptops.data.sources.source_root
        from perceptops.paths import expand

        c = params.city(city)
        return layout.ingest_dir(city) / "images" if c.source == "synthetic" else expand(c.path, layout.root)
    return source_root(params, layout, city)


def _scene_rows(layout: Layout, city: str) -> dict[str, dict[str, float]]:
    import pandas as pd

    path = layout.scene(city)
    if not path.is_file():
        raise DataError(
            f"{path} is missing: describe.backend 'scene' needs the scene parse (dvc repro scene@{city})"
        )
    df = pd.read_parquet(path)
    if "image_id" not in df.columns:
        raise DataError(f"{path} has no image_id column")
    cols = [
        c for c in df.columns if c not in ("image_id", "backend") and pd.api.types.is_numeric_dtype(df[c])
    ]
    return {r["image_id"]: {c: float(r[c]) for c in cols} for r in df[["image_id", *cols]].to_dict("records")}


def resolve_targets(params: Any, only: str | None) -> list[str]:
    if only is None:
        return ["general", *params.target_names()]
    if only != "general":
        params.parse_target(only)  # ConfigError naming the allowed values
    return [only]


def describe_city(
    params: Any,
    layout: Layout,
    city: str,
    only: str | None = None,
    progress: bool = True,
    describer: Any = None,
) -> dict[str, Any]:
    """Describe ``city``; returns the metrics written to ``metrics/describe/<city>.json``."""
    import pandas as pd

    from perceptops.describe import get_describer

    params.city(city)
    targets = resolve_targets(params, only)
    d = describer if describer is not None else get_describer(params, root=layout.root)
    d.check()  # a missing API key / model fails here, before any call
    valid = _read_valid(params, layout, city)
    if "image_id" not in valid.columns:
        raise DataError(f"{layout.valid_manifest(city)} has no image_id column")
    valid = valid.drop_duplicates("image_id").sort_values("image_id").reset_index(drop=True)
    ids = valid["image_id"].tolist()
    root = _source_root(params, layout, city) if d.needs_images else None
    paths = dict(zip(ids, valid["path"], strict=True)) if root is not None else {}
    scenes = _scene_rows(layout, city) if d.needs_scene else {}
    gen = d.gen_params()

    jobs: list[Job] = []
    keys: dict[str, dict[str, str]] = {}
    prompts = {t: build_prompt(params, t, root=layout.root) for t in targets}
    cache = ResponseCache(cache_path(params, layout))
    stats = {t: Counter() for t in targets}
    try:
        for t in targets:
            p = prompts[t]
            keys[t] = {}
            for i in ids:
                g = gen
                if d.needs_scene and i in scenes:  # the parse is an input of the scene describer
                    g = {**gen, "scene": sha256_text(stable_json(scenes[i]))[:16]}
                keys[t][i] = cache_key(i, p.hash, d.backend, d.model, g)
            hits = cache.get_many(list(keys[t].values()))
            for i, k in keys[t].items():
                if k in hits and hits[k].ok:
                    stats[t]["cached"] += 1
                    continue
                jobs.append(
                    Job(
                        key=k,
                        image_id=i,
                        target=t,
                        prompt=p,
                        image_path=(root / paths[i]) if root is not None else None,
                        scene=scenes.get(i),
                    )
                )
        _run_jobs(d, jobs, cache, gen, stats, progress, city)
        entries = {t: cache.get_many(list(keys[t].values())) for t in targets}
    finally:
        cache.close()

    out_dir = layout.descriptions_dir(city)
    tables, failures = {}, []
    for t in targets:
        rows = []
        for i in ids:
            e = entries[t].get(keys[t][i])
            if e is None or not e.ok:
                failures.append(
                    {
                        "image_id": i,
                        "target": t,
                        "error": (e.error if e is not None else None) or "no answer (run interrupted?)",
                        "attempts": e.attempts if e is not None else 0,
                    }
                )
                continue
            rows.append(
                {
                    "image_id": i,
                    "text": e.parsed["description"],
                    "rating": int(e.parsed["safety"]),
                    "factors": [str(f) for f in e.parsed.get("factors", [])],
                    "backend": e.backend,
                    "model": e.model,
                    "prompt_hash": e.prompt_hash,
                    "created": e.created,
                }
            )
        df = pd.DataFrame(rows, columns=COLUMNS)
        df["rating"] = df["rating"].astype("int64")
        tables[t] = df
        stats[t]["described"] = len(df)
        stats[t]["failed"] = len(ids) - len(df)
    if params.describe.validate_outputs:
        from perceptops.describe.validate import validate_descriptions

        validate_descriptions({t: df for t, df in tables.items() if len(df)}, set(ids), city)
    for t, df in tables.items():
        write_parquet(df, layout.descriptions(city, t))
    _write_failures(out_dir / "failures.csv", failures, targets)
    metrics = _write_metrics(layout, city, stats, targets)
    empty = [t for t, df in tables.items() if len(df) == 0 and ids]
    if empty:
        raise DataError(
            f"nothing was described for {', '.join(empty)} in city {city!r}: see {out_dir / 'failures.csv'} "
            "(the next run retries the failed items)"
        )
    return metrics


def _run_jobs(
    d: Any,
    jobs: list[Job],
    cache: ResponseCache,
    gen: dict[str, Any],
    stats: dict[str, Counter],
    progress: bool,
    city: str,
) -> None:
    from contextlib import nullcontext

    from perceptops.progress import make_progress

    t0 = time.monotonic()
    done = failed = 0
    bar = make_progress(rate="-", tokens="0", failed="0") if progress and jobs else None
    task = None

    def on_result(job: Job, out: Outcome) -> None:
        nonlocal done, failed
        g = gen
        if job.scene is not None and d.needs_scene:
            g = {**gen, "scene": sha256_text(stable_json(job.scene))[:16]}
        cache.put(
            key=job.key,
            image_id=job.image_id,
            target=job.target,
            backend=d.backend,
            model=d.model,
            prompt_hash=job.prompt.hash,
            gen=g,
            raw=out.raw,
            parsed=out.parsed,
            usage=out.usage,
            latency_s=out.latency_s,
            error=out.error,
            attempts=out.attempts,
        )
        done += 1
        if out.parsed is None:
            failed += 1
        if bar is not None:
            rate = done / max(time.monotonic() - t0, 1e-9)
            bar.update(
                task, advance=1, rate=f"{rate:.1f}/s", tokens=str(sum(d.tokens.values())), failed=str(failed)
            )

    with bar if bar is not None else nullcontext():
        if bar is not None:
            task = bar.add_task(
                f"describe {city} ({d.backend})", total=len(jobs), rate="-", tokens="0", failed="0"
            )
        d.run(jobs, cache, on_result)
    for t in stats:
        stats[t]["calls"] = d.calls.get(t, 0)
        stats[t]["tokens"] = d.tokens.get(t, 0)


def _write_failures(path: Path, failures: list[dict[str, Any]], targets: list[str]) -> None:
    """failures.csv for the targets of this run; rows of other targets (an --only run) are kept."""
    import pandas as pd

    from perceptops.utils import atomic_path

    old = pd.DataFrame(columns=FAILURE_COLUMNS)
    if path.is_file():
        with contextlib.suppress(pd.errors.EmptyDataError, pd.errors.ParserError):
            old = pd.read_csv(path, dtype={"image_id": str, "target": str, "error": str})
    keep = old[~old["target"].isin(targets)] if "target" in old.columns else old.iloc[0:0]
    df = pd.concat([keep, pd.DataFrame(failures, columns=FAILURE_COLUMNS)], ignore_index=True)
    df = df.sort_values(["target", "image_id"]).reset_index(drop=True)
    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=False)


def _write_metrics(
    layout: Layout, city: str, stats: dict[str, Counter], targets: list[str]
) -> dict[str, Any]:
    path = layout.metrics(f"describe/{city}")
    metrics: dict[str, Any] = {}
    if path.is_file():
        try:
            metrics = {k: v for k, v in read_json(path).items() if isinstance(v, dict)}
        except ValueError:
            metrics = {}
    for t in targets:
        metrics[t] = {
            k: int(stats[t].get(k, 0)) for k in ("described", "failed", "calls", "cached", "tokens")
        }
    write_json(path, metrics)
    return metrics
