"""Test helpers: a small Place Pulse Q-score, Spearman, and the demo groups as rater filters."""

from __future__ import annotations

import numpy as np
import pandas as pd

SCENARIOS = ["traffic", "crime"]
SMALL = {"n_images": 16, "raters": 12, "votes_per_rater": 10}  # a quick city for schema tests


def qscores(votes: pd.DataFrame) -> pd.Series:
    """Q_i = 10/3 (W_i + mean W_j over beaten j - mean L_j over j that beat i + 1), per image id."""
    v = votes[votes["image_a"] != votes["image_b"]]
    win_a = v["choice"] == "a"
    win_b = v["choice"] == "b"
    winners = pd.concat([v.loc[win_a, "image_a"], v.loc[win_b, "image_b"]]).to_numpy()
    losers = pd.concat([v.loc[win_a, "image_b"], v.loc[win_b, "image_a"]]).to_numpy()
    ids = pd.unique(pd.concat([v["image_a"], v["image_b"]]))
    n = pd.concat([v["image_a"], v["image_b"]]).value_counts().reindex(ids).to_numpy(float)
    wins = pd.Series(winners).value_counts().reindex(ids, fill_value=0).to_numpy(float)
    losses = pd.Series(losers).value_counts().reindex(ids, fill_value=0).to_numpy(float)
    w_rate = pd.Series(wins / n, index=ids)
    l_rate = pd.Series(losses / n, index=ids)
    pairs = pd.DataFrame({"w": winners, "l": losers})
    beaten = pairs.assign(lw=w_rate.reindex(pairs["l"]).to_numpy()).groupby("w")["lw"].mean()
    beat_by = pairs.assign(wl=l_rate.reindex(pairs["w"]).to_numpy()).groupby("l")["wl"].mean()
    q = 10.0 / 3.0 * (w_rate + beaten.reindex(ids).fillna(0.0) - beat_by.reindex(ids).fillna(0.0) + 1.0)
    return q.clip(0.0, 10.0)


def spearman(a: pd.Series, b: pd.Series) -> float:
    idx = a.index.intersection(b.index)
    return float(np.corrcoef(a[idx].rank(), b[idx].rank())[0, 1])


GROUPS = {
    "women": lambda v: v["gender"] == "female",
    "men": lambda v: v["gender"] == "male",
    "elderly": lambda v: v["age"] >= 65,
    "middle-aged": lambda v: (v["age"] >= 40) & (v["age"] <= 64),
}


def group_q(votes: pd.DataFrame, group: str | None, scenario: str) -> pd.Series:
    v = votes[votes["scenario"] == scenario]
    if group is not None:
        v = v[GROUPS[group](v)]
    return qscores(v)


def random_split_spearman(
    votes: pd.DataFrame, scenario: str, sizes: tuple[int, int], seeds=(0, 1, 2)
) -> float:
    """Noise baseline: Spearman between two random rater subsets of the given sizes, same question."""
    v = votes[votes["scenario"] == scenario]
    raters = np.array(sorted(v["rater_id"].unique()))
    out = []
    for s in seeds:
        perm = np.random.default_rng(s).permutation(raters)
        a, b = set(perm[: sizes[0]]), set(perm[sizes[0] : sizes[0] + sizes[1]])
        out.append(spearman(qscores(v[v["rater_id"].isin(a)]), qscores(v[v["rater_id"].isin(b)])))
    return float(np.mean(out))


def group_size(votes: pd.DataFrame, group: str) -> int:
    return int(votes[GROUPS[group](votes)]["rater_id"].nunique())
