"""Latent street factors of the synthetic city, and the concrete scene each image shows.

Private to ``perceptops.data.simulate``: nothing outside this package may read the factors (the
describer and the models must learn from pixels, as they would from a real city).

The city is a square grid around ``center``. Four districts (downtown, residential, park, industrial
edge) give each factor a spatial mean; a smooth random field (random Fourier features) adds
neighbourhood variation, and a little per-image noise the rest. Each image's factors are then turned
into a :class:`Scene`: the counts and sizes the renderer draws. The panel's utilities are computed from
the same Scene (``visible_features``), so every factor raters weigh is visible in the pixels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

FACTORS = (
    "lanes",  # road width
    "traffic",  # cars on the road
    "crossing",  # probability of a zebra crossing in view
    "sidewalk",  # sidewalk width
    "greenery",  # trees, verges, parks
    "lamps",  # street lamps (matter at night)
    "people",  # pedestrians present
    "disorder",  # graffiti and litter
    "enclosure",  # building height (street canyon)
)

# District profiles: logit-scale means of each factor (order of FACTORS).
DISTRICTS: dict[str, tuple[float, ...]] = {
    #                lanes traffic cross sidew  green lamps people disord encl
    "downtown": (1.0, 1.3, 1.2, 1.2, -1.2, 1.3, 1.6, 0.2, 1.6),
    "residential": (-1.4, -1.0, -0.6, 0.2, 0.6, -0.2, -0.5, -0.9, -0.5),
    "park": (-1.2, -1.6, -0.3, 0.3, 2.2, -0.6, 0.0, -0.6, -2.2),
    "industrial": (1.4, 0.6, -1.6, -1.4, -1.4, -1.0, -1.6, 1.6, -0.3),
}
# District centres on the unit square [-1, 1]^2 (jittered per seed); residential is the background.
ANCHORS = {"downtown": (0.0, 0.05), "park": (0.55, -0.5), "industrial": (-0.65, 0.6)}
ANCHOR_SCALE = {"downtown": 0.45, "park": 0.35, "industrial": 0.4}

STYLE_SHIFT: dict[str, dict[str, float]] = {
    "mixed": {},
    "night": {"lamps": -0.3},
    "traffic": {"traffic": 1.8, "lanes": 0.9, "crossing": -0.4, "people": -0.3},
    "green": {"greenery": 1.8, "traffic": -0.6, "enclosure": -0.6},
}
# Share of night and dusk captures per style (the rest is day).
STYLE_LIGHT = {"mixed": (0.25, 0.12), "night": (0.75, 0.12), "traffic": (0.2, 0.12), "green": (0.2, 0.1)}


@dataclass(frozen=True)
class Scene:
    """What one image shows, in world units (metres) and counts. Drawn by ``_render``."""

    n_lanes: int
    road_half: float  # half road width, m
    sidewalk: float  # sidewalk width, m (0.3 = only a curb)
    crossing: bool
    n_cars: int
    n_trees: int
    park_side: int  # 0 none, -1 left, +1 right: open green instead of buildings
    daylight: float  # 0 night .. 1 full day
    n_lamps: int
    n_people: int
    n_graffiti: int
    n_litter: int
    height: float  # typical building height, m
    district: str


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _smooth_field(
    rng: np.random.Generator, xy: np.ndarray, n_waves: int = 12, scale: float = 2.2
) -> np.ndarray:
    """A smooth zero-mean random field (random Fourier features), unit variance on average."""
    omega = rng.normal(0.0, scale, size=(n_waves, 2))
    phase = rng.uniform(0.0, 2 * math.pi, size=n_waves)
    return math.sqrt(2.0 / n_waves) * np.cos(xy @ omega.T + phase).sum(axis=1)


def latent_factors(n: int, seed: int, style: str) -> pd.DataFrame:
    """Positions on the unit square, the district mix and every factor in [0, 1]; plus daylight."""
    rng = np.random.default_rng([seed, 1])
    xy = rng.uniform(-1.0, 1.0, size=(n, 2))
    names = list(ANCHORS)
    centres = np.array([ANCHORS[k] for k in names]) + rng.normal(0.0, 0.08, size=(len(names), 2))
    d2 = ((xy[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2)
    member = np.exp(-d2 / (2 * np.array([ANCHOR_SCALE[k] for k in names]) ** 2))
    resid = np.clip(1.0 - member.sum(axis=1), 0.05, None)  # residential fills the rest
    weights = np.column_stack([member, resid])
    weights /= weights.sum(axis=1, keepdims=True)
    profiles = np.array([DISTRICTS[k] for k in [*names, "residential"]])  # (districts, factors)
    logits = weights @ profiles
    shift = STYLE_SHIFT[style]
    out = {"x": xy[:, 0], "y": xy[:, 1]}
    for j, f in enumerate(FACTORS):
        field = _smooth_field(rng, xy)
        noise = rng.normal(0.0, 1.0, size=n)
        out[f] = _sigmoid(logits[:, j] + 0.7 * field + 0.6 * noise + shift.get(f, 0.0))
    dom = np.array([*names, "residential"])[weights.argmax(axis=1)]
    out["district"] = dom
    # Daylight is the capture time, not the place: night / dusk / day.
    p_night, p_dusk = STYLE_LIGHT[style]
    u = rng.uniform(size=n)
    night = rng.uniform(0.0, 0.1, size=n)
    dusk = rng.uniform(0.3, 0.55, size=n)
    day = rng.uniform(0.78, 1.0, size=n)
    out["daylight"] = np.where(u < p_night, night, np.where(u < p_night + p_dusk, dusk, day))
    return pd.DataFrame(out)


def scene_of(row: pd.Series, rng: np.random.Generator) -> Scene:
    """Turn one image's factors into concrete, drawable counts (with per-image jitter)."""
    n_lanes = 1 + int(np.clip(round(row["lanes"] * 3.6 - 0.3), 0, 3))
    road_half = 1.6 * n_lanes + rng.uniform(0.0, 0.6)
    sidewalk = 0.3 + 4.2 * row["sidewalk"] ** 1.3
    crossing = bool(rng.uniform() < row["crossing"] ** 1.5)
    n_cars = int(round(row["traffic"] ** 1.2 * (2.5 + 2.2 * n_lanes)))
    green = row["greenery"]
    park_side = 0
    if green > 0.78:
        park_side = -1 if rng.uniform() < 0.5 else 1
    n_trees = int(round(green**1.3 * 9))
    n_lamps = int(round(row["lamps"] * 6))
    n_people = int(round(row["people"] ** 1.4 * 9))
    disorder = row["disorder"]
    n_graffiti = int(round(max(0.0, disorder - 0.4) * 9))
    n_litter = int(round(max(0.0, disorder - 0.35) * 18))
    height = 5.0 + 36.0 * row["enclosure"] ** 1.2
    return Scene(
        n_lanes=n_lanes,
        road_half=float(road_half),
        sidewalk=float(sidewalk),
        crossing=crossing,
        n_cars=n_cars,
        n_trees=n_trees,
        park_side=park_side,
        daylight=float(row["daylight"]),
        n_lamps=n_lamps,
        n_people=n_people,
        n_graffiti=n_graffiti,
        n_litter=n_litter,
        height=float(height),
        district=str(row["district"]),
    )


# Features raters weigh, each in about [0, 1], computed from what is drawn.
FEATURES = (
    "traffic",  # cars in view
    "lanes",  # road width
    "crossing",  # a zebra crossing in view
    "sidewalk",  # room to walk
    "greenery",  # trees and open green
    "light",  # how well lit the scene is (daylight, or lamps at night)
    "people",  # others around (isolation when low)
    "disorder",  # graffiti and litter
    "enclosure",  # building height
)


def visible_features(s: Scene) -> np.ndarray:
    lamp_light = min(1.0, s.n_lamps / 4.0)
    light = s.daylight + (1.0 - s.daylight) * 0.55 * lamp_light
    return np.array(
        [
            min(1.0, s.n_cars / 8.0),
            (s.n_lanes - 1) / 3.0,
            1.0 if s.crossing else 0.0,
            min(1.0, (s.sidewalk - 0.3) / 4.2),
            min(1.0, s.n_trees / 9.0 + (0.3 if s.park_side else 0.0)),
            light,
            min(1.0, s.n_people / 6.0),
            min(1.0, 0.5 * s.n_graffiti / 4.0 + 0.5 * s.n_litter / 10.0),
            min(1.0, (s.height - 5.0) / 36.0),
        ]
    )
