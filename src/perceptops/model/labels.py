"""General labels from crowd Q-scores: safe above mean + k sd, unsafe below mean - k sd, middle dropped."""

from __future__ import annotations

from typing import TYPE_CHECKING

from perceptops.errors import DataError

if TYPE_CHECKING:
    import pandas as pd

    from perceptops.config import Params
    from perceptops.paths import Layout


def labels_from_qscores(qscores: pd.DataFrame, k_sd: float) -> pd.DataFrame:
    """Rows of group ``all``, scenario ``general`` -> (image_id, q, label); raises if a class is empty."""
    import numpy as np

    need = {"image_id", "group", "scenario", "q"}
    if not need <= set(qscores.columns):
        raise DataError(
            f"qscores lacks columns {sorted(need - set(qscores.columns))}: re-run the survey stage"
        )
    rows = qscores[(qscores["group"] == "all") & (qscores["scenario"] == "general")]
    rows = rows[np.isfinite(rows["q"].astype(float))]
    if rows["image_id"].duplicated().any():
        raise DataError(
            "qscores has duplicate image ids for group 'all', scenario 'general': re-run the survey stage"
        )
    if len(rows) < 2:
        raise DataError(
            f"only {len(rows)} image(s) have a general Q-score (group 'all', scenario 'general'): "
            "check the survey stage output"
        )
    q = rows["q"].astype(float)
    mean, sd = float(q.mean()), float(q.std(ddof=0))
    hi, lo = mean + k_sd * sd, mean - k_sd * sd
    out = rows.loc[(q > hi) | (q < lo), ["image_id", "q"]].copy()
    out["label"] = (out["q"] > hi).astype("int64")
    n_safe, n_unsafe = int(out["label"].sum()), int((out["label"] == 0).sum())
    if n_safe == 0 or n_unsafe == 0:
        empty = "safe" if n_safe == 0 else "unsafe"
        raise DataError(
            f"no {empty} examples with labels.k_sd = {k_sd} (mean {mean:.2f}, sd {sd:.2f}, "
            f"{len(rows)} images): lower labels.k_sd in params.yaml"
        )
    return out.sort_values("image_id").reset_index(drop=True)


def make_labels(params: Params, layout: Layout) -> dict:
    """The ``labels`` stage: data/<train_city>/survey/qscores.parquet -> data/labels/general.parquet."""
    import pandas as pd

    from perceptops.utils import write_parquet

    path = layout.qscores(params.train_city)
    if not path.is_file():
        raise DataError(f"{path} not found: run the survey stage for {params.train_city!r} first")
    labels = labels_from_qscores(pd.read_parquet(path), params.labels.k_sd)
    write_parquet(labels, layout.labels())
    summary = {"labelled": len(labels), "safe": int(labels["label"].sum()), "k_sd": params.labels.k_sd}
    summary["unsafe"] = summary["labelled"] - summary["safe"]
    return summary
