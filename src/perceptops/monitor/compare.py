"""Compare a city's features with the reference's: Evidently 0.7 DataDriftPreset + EmbeddingsDrift.

Columns that cannot be tested are screened first (all NaN on a side; constant on both sides) and
listed in the summary instead of being handed to Evidently, where they would raise or mislead.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from perceptops.config import Params
from perceptops.errors import DataError
from perceptops.monitor.features import CityFeatures, add_factor_flags, factor_columns
from perceptops.monitor.settings import EMBEDDING_THRESHOLDS, DriftSettings

EMBEDDING_FEATURE = "image_embeddings"
P_VALUE_SIZE = 1000  # Evidently uses p-value tests up to this many reference rows, distances above
# Evidently stat tests whose score is a p-value (drift below the threshold); the others are distances
# (drift at or above it). Named by id (when chosen explicitly) or display name (when Evidently chose).
P_VALUE_TESTS = frozenset(
    {"ks", "chisquare", "z", "anderson", "cramer_von_mises", "epps_singleton", "fisher_exact", "g_test",
     "mannw", "t_test", "empirical_mmd", "Anderson-Darling", "Cramer-von Mises", "Epps-Singleton",
     "Fisher's Exact test", "Mann-Whitney U-rank test"}
)  # fmt: skip


def is_p_value(method: str) -> bool:
    return method in P_VALUE_TESTS or "p_value" in method


@dataclass
class Comparison:
    features: list[dict[str, Any]]  # one per tested feature: group, method, score, threshold, drifted, ...
    skipped: list[dict[str, str]]  # feature, reason
    snapshot: Any  # evidently Snapshot (save_html / save_json / dict)
    n_reference: int
    n_current: int


def _fmt(x: Any) -> float | None:
    try:
        f = float(x)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) or math.isinf(f) else round(f, 6)


def screen(ref: pd.Series, cur: pd.Series) -> tuple[str, str | None]:
    """('test', None) | ('skip', reason) | ('drifted', reason) for one feature column."""
    r, c = ref.dropna(), cur.dropna()
    if r.empty or c.empty:
        side = "reference" if r.empty else "current city"
        return "skip", f"all values missing (NaN) in the {side}"
    if r.nunique() == 1 and c.nunique() == 1:
        if r.iloc[0] == c.iloc[0]:
            return "skip", f"constant ({r.iloc[0]!r}) in both: nothing to compare"
        return "drifted", f"constant in both but different: {r.iloc[0]!r} -> {c.iloc[0]!r}"
    return "test", None


def embedding_frames(
    ref: np.ndarray, cur: np.ndarray, n_comp: int, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """PCA fitted on the reference; rows without an embedding get their own city's mean (counted)."""
    from sklearn.decomposition import PCA

    r_ok, c_ok = ~np.isnan(ref).any(axis=1), ~np.isnan(cur).any(axis=1)
    if r_ok.sum() < 3 or c_ok.sum() < 3:
        return None
    k = int(min(n_comp, ref.shape[1], r_ok.sum() - 1))
    pca = PCA(n_components=k, random_state=seed).fit(ref[r_ok])
    cols = [f"emb_{i}" for i in range(k)]

    def project(X: np.ndarray, ok: np.ndarray) -> pd.DataFrame:
        Z = np.empty((len(X), k))
        Z[ok] = pca.transform(X[ok])
        Z[~ok] = Z[ok].mean(axis=0)
        return pd.DataFrame(Z, columns=cols)

    return project(ref, r_ok), project(cur, c_ok)


@contextmanager
def light_embedding_plot(sample: int) -> Iterator[None]:
    """Evidently draws the embeddings with t-SNE on up to 2,500 rows a side (minutes at 5,000 x 5,000 and
    the dominant cost of a report). The plot only illustrates; the drift score uses every row. So the
    plot gets ``sample`` rows a side and fewer t-SNE iterations."""
    from functools import partial

    import evidently.legacy.metrics.data_drift.embeddings_drift as ed

    saved = ed.SAMPLE_CONSTANT, ed.TSNE
    ed.SAMPLE_CONSTANT = sample
    ed.TSNE = partial(saved[1], max_iter=300, init="pca", random_state=0)
    try:
        yield
    finally:
        ed.SAMPLE_CONSTANT, ed.TSNE = saved


def drift_method(name: str, threshold: float | None):
    from evidently.metrics.embeddings import (
        DistanceDriftMethod,
        MMDDriftMethod,
        ModelDriftMethod,
        RatioDriftMethod,
    )

    cls = {"model": ModelDriftMethod, "ratio": RatioDriftMethod, "distance": DistanceDriftMethod}
    cls["mmd"] = MMDDriftMethod
    thr = threshold if threshold is not None else EMBEDDING_THRESHOLDS[name]
    return cls[name](threshold=thr), thr


def compare(params: Params, settings: DriftSettings, ref: CityFeatures, cur: CityFeatures) -> Comparison:
    """Run the Evidently report on the common features of ``ref`` and ``cur``."""
    factors = factor_columns(ref, settings.descriptions.top_factors)
    groups = {**ref.groups, **cur.groups}
    if factors and cur.factor_lists is not None:
        groups.update(add_factor_flags(ref, factors))
        add_factor_flags(cur, factors)
    common = [c for c in ref.table.columns if c in cur.table.columns]
    skipped: list[dict[str, str]] = []
    for c in sorted(set(ref.table.columns) ^ set(cur.table.columns)):
        side = "current city" if c in ref.table.columns else "reference"
        skipped.append({"feature": c, "group": groups.get(c, "?"), "reason": f"not available for the {side}"})
    for grp, why in {**{g: w for g, w in ref.missing.items()}, **cur.missing}.items():
        skipped.append({"feature": f"{grp}/*", "group": grp, "reason": why})

    tested: list[str] = []
    results: list[dict[str, Any]] = []
    for c in common:
        r = pd.to_numeric(ref.table[c], errors="coerce")
        k = pd.to_numeric(cur.table[c], errors="coerce")
        verdict, why = screen(r, k)
        if verdict == "skip":
            skipped.append({"feature": c, "group": groups.get(c, "?"), "reason": why or ""})
        elif verdict == "drifted":
            results.append(
                {**_describe(c, groups.get(c, "?"), r, k), "method": "constant", "score": None,
                 "threshold": None, "drifted": True, "note": why}
            )  # fmt: skip
        else:
            tested.append(c)
    categorical = [c for c in tested if c.startswith("factor_")]
    numerical = [c for c in tested if c not in categorical]

    emb = None
    if ref.embeddings is not None and cur.embeddings is not None:
        emb = embedding_frames(
            ref.embeddings, cur.embeddings, settings.embeddings.pca_components, params.project.seed
        )
        if emb is None:
            skipped.append(
                {"feature": EMBEDDING_FEATURE, "group": "embeddings", "reason": "fewer than 3 embeddings"}
            )
    if not tested and emb is None:
        if (
            results
        ):  # only constant-but-different features: the report has nothing to plot, the verdict stands
            return Comparison(results, skipped, None, len(ref.table), len(cur.table))
        raise DataError(
            f"no usable drift features between {ref.city!r} and {cur.city!r}: every feature is missing, "
            "all NaN or constant (see monitoring/drift.yaml 'groups' and the scene/describe/embed outs)"
        )

    from evidently import DataDefinition, Dataset, Report  # 4-5 s: only once there is something to test
    from evidently.metrics import EmbeddingsDrift
    from evidently.presets import DataDriftPreset

    rdf = ref.table[tested].reset_index(drop=True).astype(float)
    cdf = cur.table[tested].reset_index(drop=True).astype(float)
    metrics: list[Any] = []
    emb_cols: list[str] = []
    if emb is not None:
        rdf = pd.concat([rdf, emb[0]], axis=1)
        cdf = pd.concat([cdf, emb[1]], axis=1)
        emb_cols = list(emb[0].columns)
    small = len(rdf) <= P_VALUE_SIZE
    thr = params.drift.stattest_threshold if small else settings.stattests.distance_threshold
    if tested:
        # numeric features get K-S (small) / Wasserstein (large) even with few distinct values
        # (ratings 1-10, factor counts): Evidently's automatic choice there is chi-square, which
        # flags random halves of one city as drifted when some values are rare
        num_test = "ks" if small else "wasserstein"
        metrics.append(
            DataDriftPreset(
                columns=tested,
                drift_share=params.drift.drift_share,
                threshold=thr,
                per_column_method={c: num_test for c in numerical},
            )
        )
    method, emb_thr = drift_method(params.drift.embedding_method, settings.embeddings.threshold)
    if emb_cols:
        metrics.append(EmbeddingsDrift(embeddings_name="image", drift_method=method))
    dd = DataDefinition(
        numerical_columns=numerical + emb_cols,
        categorical_columns=categorical,
        embeddings={"image": emb_cols} if emb_cols else None,
    )
    with warnings.catch_warnings(), light_embedding_plot(settings.embeddings.plot_sample):
        warnings.simplefilter("ignore")  # numpy divide warnings from Evidently's correlation widgets
        snap = Report(metrics).run(
            current_data=Dataset.from_pandas(cdf, data_definition=dd),
            reference_data=Dataset.from_pandas(rdf, data_definition=dd),
        )
    for m in snap.dict()["metrics"]:
        cfg = m.get("config", {})
        kind = cfg.get("type", "")
        if kind.endswith("ValueDrift"):
            col = cfg["column"]
            method_name = str(cfg.get("method", ""))
            value = _fmt(m["value"])
            t = cfg.get("threshold", thr)
            p_value = is_p_value(method_name)
            drifted = value is not None and (value < t if p_value else value >= t)
            results.append(
                {**_describe(col, groups.get(col, "?"), rdf[col], cdf[col]), "method": method_name,
                 "score": value, "threshold": t, "drifted": bool(drifted)}
            )  # fmt: skip
        elif kind.endswith("EmbeddingsDrift"):
            value = _fmt(m["value"])
            results.append(
                {"feature": EMBEDDING_FEATURE, "group": "embeddings", "method": params.drift.embedding_method,
                 "score": value, "threshold": emb_thr, "drifted": bool(value is not None and value > emb_thr),
                 "components": len(emb_cols)}
            )  # fmt: skip
    return Comparison(results, skipped, snap, len(ref.table), len(cur.table))


def _describe(col: str, group: str, r: pd.Series, c: pd.Series) -> dict[str, Any]:
    """How much a feature moved, in reference standard deviations (readable beside the test score)."""
    rm, cm, sd = r.mean(), c.mean(), r.std()
    shift = (cm - rm) / sd if sd and not np.isnan(sd) and sd > 0 else None
    return {
        "feature": col,
        "group": group,
        "reference_mean": _fmt(rm),
        "current_mean": _fmt(cm),
        "shift_sd": _fmt(shift),
    }
