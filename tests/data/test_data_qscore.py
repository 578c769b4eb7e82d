"""Q-scores: a hand-computed Place Pulse example, a plain re-computation on placepulse2/votes.csv,
and Bradley-Terry recovering a known ordering."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from perceptops.data.qscore import bradley_terry, placepulse


def votes(rows):
    return pd.DataFrame(rows, columns=["image_a", "image_b", "choice"])


HAND = votes([("A", "B", "a"), ("A", "C", "b"), ("B", "C", "equal"), ("A", "B", "a"), ("C", "B", "a")])


def test_placepulse_hand_computed_example():
    # By hand from Q = 10/3 (W_i + mean W of beaten - mean L of lost-to + 1):
    #   A: 2 wins (B, B), 1 loss (C), n=3 -> W=2/3, L=1/3
    #   B: 0 wins, 3 losses (A, A, C), 1 tie, n=4 -> W=0, L=3/4
    #   C: 2 wins (A, B), 0 losses, 1 tie, n=3 -> W=2/3, L=0
    #   Q_A = 10/3 (2/3 + 0 - 0 + 1)               = 50/9
    #   Q_B = 10/3 (0 + 0 - (1/3 + 1/3 + 0)/3 + 1)  = 70/27
    #   Q_C = 10/3 (2/3 + (2/3 + 0)/2 - 0 + 1)      = 20/3
    q = placepulse(HAND).set_index("image_id")
    assert q.loc["A", "q"] == pytest.approx(50 / 9)
    assert q.loc["B", "q"] == pytest.approx(70 / 27)
    assert q.loc["C", "q"] == pytest.approx(20 / 3)
    assert q.loc["A", ["wins", "losses", "ties", "n"]].tolist() == [2, 1, 0, 3]
    assert q.loc["B", ["wins", "losses", "ties", "n"]].tolist() == [0, 3, 1, 4]
    assert q.loc["C", ["wins", "losses", "ties", "n"]].tolist() == [2, 0, 1, 3]


def test_placepulse_extremes():
    # One image beats everybody, who never win: Q = 10/3 (1 + 0 - 0 + 1) = 20/3; the losers 10/3 (0 - 0 + 1).
    q = placepulse(votes([("T", "x", "a"), ("y", "T", "b"), ("T", "z", "a")])).set_index("image_id")["q"]
    assert q["T"] == pytest.approx(20 / 3) and q["x"] == pytest.approx(10 / 3 * (1 - 0))
    assert placepulse(votes([])).empty


def reference_q(v: pd.DataFrame) -> dict[str, float]:
    """The formula written out with plain loops (independent of the vectorised implementation)."""
    w, lo, n = {}, {}, {}
    beat, lost = {}, {}
    for a, b, c in v[["image_a", "image_b", "choice"]].itertuples(index=False):
        for me, other, outcome in ((a, b, {"a": 1, "b": -1}.get(c, 0)), (b, a, {"a": -1, "b": 1}.get(c, 0))):
            n[me] = n.get(me, 0) + 1
            w.setdefault(me, 0)
            lo.setdefault(me, 0)
            if outcome == 1:
                w[me] += 1
                beat.setdefault(me, []).append(other)
            elif outcome == -1:
                lo[me] += 1
                lost.setdefault(me, []).append(other)
    out = {}
    for i in n:
        mb = np.mean([w[j] / n[j] for j in beat[i]]) if i in beat else 0.0
        ml = np.mean([lo[j] / n[j] for j in lost[i]]) if i in lost else 0.0
        out[i] = 10 / 3 * (w[i] / n[i] + mb - ml + 1)
    return out


def test_placepulse2_votes_match_the_formula(shared):
    raw = pd.read_csv(shared / "data" / "placepulse2" / "votes.csv", dtype=str)
    v = pd.DataFrame(
        {
            "image_a": raw["left_id"],
            "image_b": raw["right_id"],
            "choice": raw["winner"].map({"left": "a", "right": "b", "equal": "equal"}),
        }
    )
    v = v[v["image_a"] != v["image_b"]]
    assert len(v) > 15_000  # about 1,700 of the 20,403 rows are self-pairs
    q = placepulse(v).set_index("image_id")
    ref = reference_q(v)
    assert set(q.index) == set(ref)
    got = q["q"].reindex(list(ref)).to_numpy()
    np.testing.assert_allclose(got, list(ref.values()), rtol=1e-12, atol=1e-12)
    assert q["q"].between(0, 10).all()
    assert (q["wins"] + q["losses"] + q["ties"] == q["n"]).all()
    assert q["n"].sum() == 2 * len(v)


def test_bradley_terry_recovers_a_known_ordering():
    rng = np.random.default_rng(0)
    strength = np.exp(np.linspace(-2, 2, 12))  # image k is stronger than k-1
    rows = []
    for _ in range(6000):
        i, j = rng.choice(12, 2, replace=False)
        p = strength[i] / (strength[i] + strength[j])
        rows.append((f"i{i:02d}", f"i{j:02d}", "a" if rng.random() < p else "b"))
    q = bradley_terry(votes(rows)).set_index("image_id")["q"]
    assert list(q.sort_values().index) == [f"i{k:02d}" for k in range(12)]
    assert q.between(0, 10).all() and q.iloc[0] < 2.5 and q.iloc[-1] > 7.5


def test_bradley_terry_handles_unbeaten_ties_and_disconnected_pairs():
    v = votes([("a", "b", "a"), ("a", "b", "a"), ("c", "d", "equal"), ("c", "d", "equal")])
    q = bradley_terry(v).set_index("image_id")["q"]
    assert np.isfinite(q).all() and q["a"] > q["c"] > q["b"] and q["c"] == pytest.approx(q["d"])
    assert q["c"] == pytest.approx(5.0, abs=1e-6)
