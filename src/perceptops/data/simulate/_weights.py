"""The simulated panel's weights: how much each visible feature adds to a scene's felt safety.

Private to ``perceptops.data.simulate`` (an isolation test fails if any other module imports it): the
models must learn group perceptions from pixels and votes, never from these numbers.

Domain knowledge behind the numbers (signs and relative sizes, not fitted values):
- general ("which place looks safer?"): everyone with one average weighting: light (first), people,
  greenery and sidewalks help; heavy traffic, wide roads and disorder hurt.
- traffic accidents: traffic volume, road width and missing crossings dominate; sidewalks help.
- crime: darkness, isolation (nobody around) and disorder dominate; a tall, closed canyon hurts a little.
- elderly (from about 60, full at 70): weigh traffic exposure, road width and missing crossings much
  more heavily (slower crossing), and darkness and disorder for crime.
- women: weigh lighting above all and isolation heavily for crime (fear of crime at night); disorder
  no more than the average. Lighting is also what the scene parse measures best (brightness), so the
  demo's largest group deviation is one a describer can see.
- men: care less about darkness and isolation for crime, and a little less about traffic.
- middle-aged (40-64): close to the average (no deviation of their own).
Unknown scenario names use the general weights (the caller logs that).
"""

from __future__ import annotations

import numpy as np

from perceptops.data.simulate._factors import FEATURES

KNOWN_SCENARIOS = ("traffic", "crime")


def _vec(**w: float) -> np.ndarray:
    unknown = set(w) - set(FEATURES)
    assert not unknown, unknown
    return np.array([w.get(f, 0.0) for f in FEATURES])


# Base weights per question (features in [0, 1]).
BASE = {
    "general": _vec(
        traffic=-1.0,
        lanes=-0.5,
        crossing=0.5,
        sidewalk=0.8,
        greenery=0.8,
        light=2.2,
        people=1.1,
        disorder=-1.3,
        enclosure=-0.4,
    ),
    "traffic": _vec(
        traffic=-2.9,
        lanes=-0.8,
        crossing=0.5,
        sidewalk=1.8,
        greenery=0.3,
        light=0.6,
        people=0.1,
        disorder=-0.3,
    ),
    "crime": _vec(
        traffic=0.2, sidewalk=0.2, greenery=0.1, light=2.0, people=1.2, disorder=-1.6, enclosure=-0.4
    ),
}

# Deviations added for a rater's attributes, per scenario (general has none: one average weighting).
FEMALE = {
    "traffic": _vec(light=0.3, crossing=0.3),
    "crime": _vec(light=4.0, people=1.8, disorder=0.6, enclosure=-0.5, greenery=-0.4),
}
MALE = {
    "traffic": _vec(traffic=0.5, lanes=0.3),
    "crime": _vec(light=-1.6, people=-1.0, disorder=0.3, traffic=-0.2),
}
ELDERLY = {
    "traffic": _vec(traffic=-1.0, lanes=-3.0, crossing=3.0, sidewalk=0.5, light=0.6),
    "crime": _vec(light=1.4, disorder=-1.6, people=0.4),
}
YOUNG = {  # under 30: a little less cautious
    "traffic": _vec(traffic=0.4, crossing=-0.3),
    "crime": _vec(light=-0.3),
}


def elderliness(age: np.ndarray) -> np.ndarray:
    """0 below 60, 1 from 70, linear in between."""
    return np.clip((np.asarray(age, float) - 60.0) / 10.0, 0.0, 1.0)


def youth(age: np.ndarray) -> np.ndarray:
    return np.clip((30.0 - np.asarray(age, float)) / 12.0, 0.0, 1.0)


def rater_weights(question: str, gender: np.ndarray, age: np.ndarray) -> np.ndarray:
    """(n_raters, n_features) weights for ``question`` ('general' or a known scenario)."""
    n = len(gender)
    w = np.tile(BASE[question], (n, 1))
    if question == "general":
        return w
    female = (np.asarray(gender) == "female")[:, None]
    w = w + np.where(female, FEMALE[question], MALE[question])
    w = w + elderliness(age)[:, None] * ELDERLY[question] + youth(age)[:, None] * YOUNG[question]
    return w


# Real-photo panel (simulate_panel): deviations on standardised scene-parse indices, added to the crowd
# score. Keys are names of derived indices (see _panel.real_indices); values per question / group.
REAL_SCENARIO = {
    "traffic": {"car": -0.5, "road": -0.3, "sidewalk": 0.2},
    "crime": {"dark": -0.4, "people": 0.3},
}
REAL_FEMALE = {"traffic": {}, "crime": {"dark": -0.9, "people": 0.9}}
REAL_MALE = {"traffic": {"car": 0.2}, "crime": {"dark": 0.5, "people": -0.3}}
REAL_ELDERLY = {"traffic": {"car": -1.0, "road": -0.8, "sidewalk": 0.4}, "crime": {"dark": -0.6}}
REAL_CROWD_WEIGHT = {"general": 1.0, "traffic": 0.8, "crime": 0.8}
