"""Q-scores from pairwise "which looks safer" votes: the Place Pulse formula and Bradley-Terry (MM).

Both take a frame with ``image_a``, ``image_b``, ``choice`` (``a``/``b``/``equal``) and return one
row per image: ``image_id``, ``q`` (0-10), ``wins``, ``losses``, ``ties``, ``n``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

COLUMNS = ["image_id", "q", "wins", "losses", "ties", "n"]


def _long(votes: pd.DataFrame):
    """One row per (image, opponent) side of each vote with its outcome: 1 win, -1 loss, 0 tie."""
    import pandas as pd

    a, b = votes["image_a"].to_numpy(), votes["image_b"].to_numpy()
    ch = votes["choice"].to_numpy()
    out_a = np.where(ch == "a", 1, np.where(ch == "b", -1, 0))
    return pd.DataFrame(
        {
            "image": np.concatenate([a, b]),
            "opp": np.concatenate([b, a]),
            "out": np.concatenate([out_a, -out_a]),
        }
    )


def counts(votes: pd.DataFrame) -> pd.DataFrame:
    """wins, losses, ties, n per image (index: image id)."""
    lg = _long(votes)
    flags = lg.assign(wins=lg["out"] == 1, losses=lg["out"] == -1, ties=lg["out"] == 0, n=1)
    c = flags.groupby("image")[["wins", "losses", "ties", "n"]].sum()
    return c.astype("int64")


def placepulse(votes: pd.DataFrame) -> pd.DataFrame:
    """Place Pulse Q-score (Salesses et al. 2013; reference-method.md).

    W_i = wins/n, L_i = losses/n (ties count in n);
    Q_i = 10/3 * (W_i + mean W_j over the images j that i beat - mean L_j over the images j that i lost to + 1).
    Means run over comparisons (an opponent beaten twice counts twice); an empty mean is 0.
    """
    import pandas as pd

    if votes.empty:
        return pd.DataFrame({c: pd.Series(dtype="float64" if c == "q" else "int64") for c in COLUMNS}).astype(
            {"image_id": str}
        )
    c = counts(votes)
    w_rate = c["wins"] / c["n"]
    l_rate = c["losses"] / c["n"]
    lg = _long(votes)
    beat = lg[lg["out"] == 1]
    lost = lg[lg["out"] == -1]
    mean_w_beaten = beat["opp"].map(w_rate).groupby(beat["image"]).mean()
    mean_l_lost_to = lost["opp"].map(l_rate).groupby(lost["image"]).mean()
    raw = (
        w_rate
        + mean_w_beaten.reindex(c.index).fillna(0.0)
        - mean_l_lost_to.reindex(c.index).fillna(0.0)
        + 1.0
    )
    q = (10.0 / 3.0) * raw
    return _frame(c, q)


def bradley_terry(
    votes: pd.DataFrame, prior: float = 0.5, tol: float = 1e-9, max_iter: int = 5000
) -> pd.DataFrame:
    """Bradley-Terry strengths by Hunter's MM algorithm, scaled to 0-10.

    A tie is half a win for each side. Each image also plays ``prior`` virtual wins and losses
    against a virtual opponent of strength 1, so unbeaten or never-winning images stay finite
    and disconnected parts of the comparison graph share one scale.
    q = 10 * p_i / (p_i + geometric mean of p): ten times the chance to beat a typical image.
    """
    import pandas as pd

    if votes.empty:
        return placepulse(votes)
    c = counts(votes)
    ids = c.index.to_numpy()
    pos = pd.Series(np.arange(len(ids)), index=ids)
    ia = pos.loc[votes["image_a"].to_numpy()].to_numpy()
    ib = pos.loc[votes["image_b"].to_numpy()].to_numpy()
    score = (c["wins"] + 0.5 * c["ties"]).to_numpy(dtype=float) + prior
    p = np.ones(len(ids))
    for _ in range(max_iter):
        inv = 1.0 / (p[ia] + p[ib])
        denom = np.bincount(ia, inv, len(ids)) + np.bincount(ib, inv, len(ids)) + 2 * prior / (p + 1.0)
        new = score / denom
        done = np.max(np.abs(np.log(new) - np.log(p))) < tol
        p = new
        if done:
            break
    gm = float(np.exp(np.mean(np.log(p))))
    q = pd.Series(10.0 * p / (p + gm), index=c.index)
    return _frame(c, q)


def _frame(c: pd.DataFrame, q: pd.Series) -> pd.DataFrame:
    out = c.copy()
    out["q"] = q.astype("float64").clip(0.0, 10.0)
    out = out.rename_axis("image_id").reset_index()
    out["image_id"] = out["image_id"].astype(str)
    return out[COLUMNS].sort_values("image_id", kind="stable").reset_index(drop=True)


METHODS = {"placepulse": placepulse, "bradley_terry": bradley_terry}
