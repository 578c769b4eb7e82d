"""Simulated raters and their pairwise "which place looks safer?" choices.

Each rater has a gender and an age; for each question (``general`` and every scenario) they see
``votes_per_rater`` random pairs of distinct images and pick the one with the higher utility
(weights x features + Gaussian noise per image and vote). A gap below ``TIE_GAP`` is an "equal".
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from perceptops.data.simulate import _weights as W
from perceptops.errors import DataError

log = logging.getLogger(__name__)

TIE_GAP = 0.06  # utility gap below which a rater answers "equal"
VOTE_COLUMNS = ["image_a", "image_b", "choice", "rater_id", "scenario", "gender", "age"]


def make_raters(n: int, rng: np.random.Generator, prefix: str = "r") -> pd.DataFrame:
    gender = np.where(rng.uniform(size=n) < 0.5, "female", "male")
    age = rng.integers(18, 86, size=n)
    return pd.DataFrame({"rater_id": [f"{prefix}{i:04d}" for i in range(n)], "gender": gender, "age": age})


def question_key(scenario: str) -> str:
    """The weights a question uses; unknown scenario names fall back to the general weighting."""
    if scenario == "general" or scenario in W.KNOWN_SCENARIOS:
        return scenario
    log.warning(
        "simulated panel: no weights for scenario %r (known: %s); its votes use the general weights",
        scenario,
        ", ".join(W.KNOWN_SCENARIOS),
    )
    return "general"


def questions(scenarios: list[str]) -> list[str]:
    seen: list[str] = ["general"]
    for s in scenarios:
        if s not in seen:
            seen.append(s)
    return seen


def simulate_votes(
    ids: list[str],
    utility: dict[str, np.ndarray],
    raters: pd.DataFrame,
    votes_per_rater: int,
    noise: float,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Votes for every question in ``utility`` ({question: (n_images, n_raters) array})."""
    n = len(ids)
    if n < 2:
        raise DataError(f"the simulated panel needs at least 2 images, got {n}")
    ids_arr = np.asarray(ids, dtype=object)
    n_r = len(raters)
    frames = []
    for q, u in utility.items():
        r_idx = np.repeat(np.arange(n_r), votes_per_rater)
        a = rng.integers(0, n, size=r_idx.size)
        b = (a + rng.integers(1, n, size=r_idx.size)) % n  # uniform over images other than a
        e = rng.normal(0.0, noise, size=(2, r_idx.size))  # noise on each image's utility, per vote
        gap = u[a, r_idx] - u[b, r_idx] + e[0] - e[1]
        choice = np.where(gap > TIE_GAP, "a", np.where(gap < -TIE_GAP, "b", "equal"))
        frames.append(
            pd.DataFrame(
                {
                    "image_a": ids_arr[a],
                    "image_b": ids_arr[b],
                    "choice": choice,
                    "rater_id": raters["rater_id"].to_numpy()[r_idx],
                    "scenario": q,
                    "gender": raters["gender"].to_numpy()[r_idx],
                    "age": raters["age"].to_numpy()[r_idx].astype("int64"),
                }
            )
        )
    out = pd.concat(frames, ignore_index=True)
    for c in ("image_a", "image_b", "choice", "rater_id", "scenario", "gender"):
        out[c] = out[c].astype(str)
    return out[VOTE_COLUMNS]


def synthetic_utilities(
    features: np.ndarray, raters: pd.DataFrame, scenarios: list[str], rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """{question: (n_images, n_raters)} from the drawn scene features and the group weights."""
    out = {}
    for q in questions(scenarios):
        w = W.rater_weights(question_key(q), raters["gender"].to_numpy(), raters["age"].to_numpy())
        w = w + rng.normal(0.0, 0.15, size=w.shape)  # individual taste
        out[q] = features @ w.T
    return out


# --------------------------------------------------------------------------- real photos
def _z(x: pd.Series) -> np.ndarray:
    v = pd.to_numeric(x, errors="coerce").to_numpy(dtype=float)
    v = np.where(np.isfinite(v), v, np.nanmean(v) if np.isfinite(v).any() else 0.0)
    sd = v.std()
    return (v - v.mean()) / sd if sd > 0 else np.zeros_like(v)


def real_indices(items: pd.DataFrame) -> dict[str, np.ndarray]:
    """Standardised scene-parse indices the group deviations use; absent columns are skipped (logged)."""
    out: dict[str, np.ndarray] = {}
    cars = [c for c in ("frac_car", "frac_truck", "frac_bus") if c in items]
    if cars:
        out["car"] = _z(items[cars].apply(pd.to_numeric, errors="coerce").sum(axis=1))
    elif "car_presence" in items:
        out["car"] = _z(items["car_presence"])
    for key, cols in (
        ("road", ("road_share", "frac_road")),
        ("sidewalk", ("sidewalk_share", "frac_sidewalk")),
        ("people", ("person_presence", "frac_person")),
    ):
        col = next((c for c in cols if c in items), None)
        if col is not None:
            out[key] = _z(items[col])
    if "brightness" in items:
        out["dark"] = -_z(items["brightness"])
    missing = {"car", "road", "sidewalk", "people", "dark"} - set(out)
    if missing:
        log.warning(
            "simulated panel: scene columns for %s are absent; those group deviations are left out",
            ", ".join(sorted(missing)),
        )
    return out


def real_utilities(
    items: pd.DataFrame, raters: pd.DataFrame, scenarios: list[str], rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """Crowd score (standardised) as the base, plus group deviations driven by the scene parse."""
    base = _z(items["score"])
    idx = real_indices(items)
    female = raters["gender"].to_numpy() == "female"
    elder = W.elderliness(raters["age"].to_numpy())
    out = {}
    for q in questions(scenarios):
        key = question_key(q)
        u = np.tile((W.REAL_CROWD_WEIGHT[key] * base)[:, None], (1, len(raters)))
        if key != "general":
            for name, x in idx.items():
                w = (
                    W.REAL_SCENARIO[key].get(name, 0.0)
                    + np.where(female, W.REAL_FEMALE[key].get(name, 0.0), W.REAL_MALE[key].get(name, 0.0))
                    + elder * W.REAL_ELDERLY[key].get(name, 0.0)
                    + rng.normal(0.0, 0.08, size=len(raters))
                )
                u = u + x[:, None] * w[None, :]
        out[q] = u
    return out
