"""``survey@city``: individual-level pairwise votes in one schema, and Q-scores per group x scenario.

Vote sources, in order of precedence: a real survey file (``cities.<c>.survey``); else the synthetic
city's raw votes; the Place Pulse 2.0 votes (no raters); or, for Place Pulse 1.0 (crowd scores only),
the simulated panel when ``cities.<c>.panel.enabled``. Votes are mapped from source ids to image ids
through the manifest; each dropped vote is counted under the first rule it breaks.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from perceptops.data.manifest import read_manifest, read_valid
from perceptops.data.qscore import METHODS, counts
from perceptops.errors import DataError
from perceptops.paths import Layout, expand
from perceptops.utils import write_json, write_parquet

if TYPE_CHECKING:
    import pandas as pd

    from perceptops.config import GroupParams, Params

CORE = ["image_a", "image_b", "choice", "rater_id", "scenario"]
CHOICES = {"a", "b", "equal"}
QSCORE_COLUMNS = ["image_id", "group", "scenario", "q", "wins", "losses", "ties", "n"]


def read_survey_file(path: Path) -> pd.DataFrame:
    """A real survey (CSV or parquet) in the pairwise schema; ids may be source ids or image ids."""
    import pandas as pd

    if not path.is_file():
        raise DataError(f"survey file {path} not found: fix cities.<city>.survey in params.yaml")
    try:
        df = pd.read_parquet(path) if path.suffix.lower() == ".parquet" else pd.read_csv(path, dtype=str)
    except (OSError, ValueError) as err:
        raise DataError(f"survey file {path} is unreadable: {err}") from None
    missing = [c for c in ("image_a", "image_b", "choice") if c not in df.columns]
    if missing:
        raise DataError(
            f"survey file {path} lacks column(s) {missing}: needs image_a, image_b, choice "
            "(+ rater_id, scenario, rater attributes)"
        )
    if "age" in df.columns:
        df["age"] = pd.to_numeric(df["age"], errors="coerce")
    return df


def image_scores(layout: Layout, city: str, valid: pd.DataFrame) -> pd.DataFrame:
    """Crowd score per valid image (``image_id``, ``score``).

    The same photo can stand for several Place Pulse entries (same bytes, same location, different
    scores): its score is the mean over every source id that maps to it, duplicates included.
    """
    import pandas as pd

    path = layout.ingest_dir(city) / "scores.parquet"
    if not path.is_file():
        raise DataError(f"{path} not found: re-run `dvc repro ingest@{city}`")
    scores = pd.read_parquet(path)
    ids = read_manifest(layout, city)[["source_id", "image_id"]]
    s = ids.merge(scores, on="source_id").groupby("image_id", as_index=False)["score"].mean()
    return s[s["image_id"].isin(set(valid["image_id"]))].sort_values("image_id").reset_index(drop=True)


def _panel_votes(params: Params, layout: Layout, city: str) -> pd.DataFrame:
    """Simulated individual-level votes over valid images, driven by scene parse + crowd score."""
    import pandas as pd

    from perceptops.data.simulate import simulate_panel

    valid = read_valid(layout, city)
    scene_path = layout.scene(city)
    if not scene_path.is_file():
        raise DataError(
            f"{scene_path} not found: run `dvc repro scene@{city}` first (the panel needs the scene parse)"
        )
    scene = pd.read_parquet(scene_path)
    items = image_scores(layout, city, valid)
    scene_cols = [
        c for c in scene.columns if c not in ("backend",) and pd.api.types.is_numeric_dtype(scene[c])
    ]
    items = items.merge(scene[["image_id", *scene_cols]], on="image_id")
    items = items.sort_values("image_id").reset_index(drop=True)
    if items.empty:
        raise DataError(f"city {city!r}: no valid image has both a crowd score and a scene parse")
    return simulate_panel(items, params.city(city).panel, list(params.scenarios))


def load_raw_votes(params: Params, layout: Layout, city: str) -> tuple[pd.DataFrame, str]:
    """(votes in the pairwise schema with source or image ids, name of where they came from)."""
    import pandas as pd

    cp = params.city(city)
    if cp.survey:
        return read_survey_file(expand(cp.survey, layout.root)), "survey_file"
    raw = layout.ingest_dir(city) / "raw_votes.parquet"
    if cp.source in ("synthetic", "placepulse2"):
        if not raw.is_file():
            raise DataError(f"{raw} not found: run `dvc repro ingest@{city}` first")
        return pd.read_parquet(raw), f"{cp.source}_votes"
    if cp.source == "placepulse1" and cp.panel.enabled:
        return _panel_votes(params, layout, city), "simulated_panel"
    return pd.DataFrame(columns=CORE), "none"


def attribute_columns(params: Params, raw: pd.DataFrame) -> list[str]:
    named = {k for g in params.groups.values() for k in g.filter}
    return sorted((set(raw.columns) - set(CORE)) | named)


def map_votes(
    raw: pd.DataFrame, manifest: pd.DataFrame, valid_ids: set[str], params: Params
) -> tuple[pd.DataFrame, dict]:
    """Map ids to image ids and drop unusable votes; returns (votes, counts by drop reason)."""
    import pandas as pd

    df = raw.copy()
    for c, default in (("rater_id", None), ("scenario", "general")):
        if c not in df.columns:
            df[c] = default
    df["scenario"] = df["scenario"].fillna("general").astype(str)
    attrs = attribute_columns(params, df)
    for c in attrs:
        if c not in df.columns:
            df[c] = None
    idmap = dict(zip(manifest["source_id"].astype(str), manifest["image_id"], strict=False))
    idmap.update({i: i for i in manifest["image_id"]})
    a_raw, b_raw = df["image_a"].astype(str), df["image_b"].astype(str)
    a, b = a_raw.map(idmap), b_raw.map(idmap)
    choice = df["choice"].astype(str).str.strip().str.lower()

    n0 = len(df)
    stats = {"votes_in": n0}
    keep = pd.Series(True, index=df.index)

    def drop(name: str, bad: pd.Series) -> None:
        nonlocal keep
        hit = keep & bad
        stats[name] = int(hit.sum())
        keep &= ~bad

    drop("bad_choice", ~choice.isin(CHOICES))
    drop("self_pairs", (a_raw == b_raw) | (a.notna() & (a == b)))
    drop("unknown_ids", a.isna() | b.isna())
    drop("quarantined_ids", ~(a.isin(valid_ids) & b.isin(valid_ids)))
    drop("unknown_scenario", ~df["scenario"].isin({"general", *params.scenarios}))
    out = df.loc[keep, attrs].copy()
    out.insert(0, "scenario", df.loc[keep, "scenario"])
    out.insert(
        0, "rater_id", df.loc[keep, "rater_id"].astype(object).where(df.loc[keep, "rater_id"].notna(), None)
    )
    out.insert(0, "choice", choice[keep])
    out.insert(0, "image_b", b[keep])
    out.insert(0, "image_a", a[keep])
    out["rater_id"] = pd.Series(
        [None if pd.isna(v) else str(v) for v in out["rater_id"]], index=out.index, dtype=object
    )
    for c in attrs:
        out[c] = out[c].astype(object).where(out[c].notna(), None)
    stats["votes_used"] = len(out)
    stats["ties"] = int((out["choice"] == "equal").sum())
    return out.reset_index(drop=True), stats


def _matches(col: pd.Series, rule: Any) -> pd.Series:
    import pandas as pd

    from perceptops.config import RangeFilter

    if isinstance(rule, RangeFilter):
        num = pd.to_numeric(col, errors="coerce")
        m = num.notna()
        if rule.min is not None:
            m &= num >= rule.min
        if rule.max is not None:
            m &= num <= rule.max
        return m
    values = rule if isinstance(rule, list) else [rule]
    norm = {str(v).strip().lower() for v in values}
    nums = {float(v) for v in values if isinstance(v, int | float) and not isinstance(v, bool)}
    as_str = col.map(lambda v: None if v is None else str(v).strip().lower())
    m = as_str.isin(norm)
    if nums:
        m |= pd.to_numeric(col, errors="coerce").isin(nums)
    return m & col.notna()


def group_mask(votes: pd.DataFrame, group: GroupParams | None) -> pd.Series:
    """Votes cast by members of ``group`` (None = everyone); every filter key must match."""
    import pandas as pd

    mask = pd.Series(True, index=votes.index)
    if group is None:
        return mask
    for attr, rule in group.filter.items():
        if attr not in votes.columns:
            return pd.Series(False, index=votes.index)
        mask &= _matches(votes[attr], rule)
    return mask


def compute_qscores(votes: pd.DataFrame, params: Params) -> tuple[pd.DataFrame, dict[str, int]]:
    """Q-scores per (group, scenario); images below ``survey.min_comparisons`` get none."""
    import pandas as pd

    fn = METHODS[params.survey.method]
    frames, scored = [], {}
    groups: list[tuple[str, GroupParams | None]] = [("all", None), *params.groups.items()]
    for gname, gp in groups:
        gv = votes[group_mask(votes, gp)]
        for scen in ["general", *params.scenarios]:
            sv = gv[gv["scenario"] == scen]
            if sv.empty:
                continue
            q = fn(sv)
            q = q[q["n"] >= params.survey.min_comparisons]
            scored[f"{gname}/{scen}"] = len(q)
            q.insert(1, "group", gname)
            q.insert(2, "scenario", scen)
            frames.append(q[QSCORE_COLUMNS])
    if not frames:
        return empty_qscores(), scored
    return pd.concat(frames, ignore_index=True), scored


def empty_qscores() -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame(
        {
            c: pd.Series(
                dtype="float64" if c == "q" else "int64" if c in ("wins", "losses", "ties", "n") else object
            )
            for c in QSCORE_COLUMNS
        }
    )


def _crowd_rows(layout: Layout, city: str, valid: pd.DataFrame, votes: pd.DataFrame) -> pd.DataFrame:
    """Place Pulse 1.0: the given crowd Q-score is the truth for group all, scenario general."""
    import pandas as pd

    rows = image_scores(layout, city, valid)
    gv = votes[votes["scenario"] == "general"]
    c = counts(gv) if len(gv) else pd.DataFrame(columns=["wins", "losses", "ties", "n"])
    c = c.reindex(rows["image_id"]).fillna(0).astype("int64").reset_index(drop=True)
    out = pd.DataFrame(
        {
            "image_id": rows["image_id"].to_numpy(),
            "group": "all",
            "scenario": "general",
            "q": rows["score"].astype("float64").clip(0, 10).to_numpy(),
        }
    )
    return pd.concat([out, c], axis=1)[QSCORE_COLUMNS]


def survey_city(params: Params, layout: Layout, city: str) -> dict:
    """Write ``data/<city>/survey/{votes,qscores}.parquet`` and ``metrics/survey/<city>.json``."""
    import pandas as pd

    cp = params.city(city)
    manifest = read_manifest(layout, city)
    valid = read_valid(layout, city)
    raw, origin = load_raw_votes(params, layout, city)
    votes, stats = map_votes(raw, manifest, set(valid["image_id"]), params)
    qs, scored = compute_qscores(votes, params)
    if cp.source == "placepulse1" and (layout.ingest_dir(city) / "scores.parquet").is_file():
        crowd = _crowd_rows(layout, city, valid, votes)
        qs = qs[~((qs["group"] == "all") & (qs["scenario"] == "general"))]
        qs = pd.concat([crowd, qs], ignore_index=True) if len(qs) else crowd
        scored["all/general"] = len(crowd)
    qs = qs.sort_values(["group", "scenario", "image_id"], kind="stable").reset_index(drop=True)
    for c in ("wins", "losses", "ties", "n"):
        qs[c] = qs[c].astype("int64")
    layout.survey_dir(city).mkdir(parents=True, exist_ok=True)
    write_parquet(votes, layout.votes(city))
    write_parquet(qs, layout.qscores(city))
    raters = votes["rater_id"].dropna().nunique() if len(votes) else 0
    groups_empty = [g for g in params.groups if not any(k.startswith(f"{g}/") for k in scored)]
    metrics = {
        "origin": origin,
        "method": params.survey.method,
        **stats,
        "raters": int(raters),
        "scored": dict(sorted(scored.items())),
        "groups_without_votes": groups_empty,
    }
    write_json(layout.metrics(f"survey/{city}"), metrics)
    return metrics


def main(city: str) -> dict:
    """Stage entry point: params.yaml of the project at hand, default layout."""
    from perceptops.config import load_params

    r = survey_city(load_params(), Layout(), city)
    print(
        f"survey {city}: {r['votes_used']}/{r['votes_in']} votes used ({r['origin']}), scored {r['scored']}"
    )
    return r
