"""Every factor the panel weighs is visible in the pixels; city styles shift what the images show."""

from __future__ import annotations

import io
from dataclasses import replace

import numpy as np
import pytest
from PIL import Image

from perceptops.config import SyntheticParams
from perceptops.data.simulate import synthesize
from perceptops.data.simulate._factors import Scene
from perceptops.data.simulate._render import render

BASE = Scene(
    n_lanes=2,
    road_half=3.4,
    sidewalk=2.0,
    crossing=False,
    n_cars=2,
    n_trees=2,
    park_side=0,
    daylight=0.95,
    n_lamps=2,
    n_people=2,
    n_graffiti=0,
    n_litter=0,
    height=15.0,
    district="residential",
)
SEEDS = range(4)


def _hsv(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    img = Image.fromarray(rgb).convert("HSV")
    a = np.asarray(img).astype(float) / 255.0
    return a[..., 0] * 360.0, a[..., 1], a[..., 2]


def _pixels(scene: Scene) -> np.ndarray:
    """Mean over a few seeds of each image (jitter differs by seed; the factor does not)."""
    return np.stack(
        [np.asarray(Image.open(io.BytesIO(render(scene, 320, 240, np.random.default_rng(s))))) for s in SEEDS]
    )


def _share(imgs: np.ndarray, rule) -> float:
    return float(np.mean([rule(im).mean() for im in imgs]))


def car_like(im):  # strongly saturated, not green, lower half (the pixel parser's car rule)
    h, s, v = _hsv(im)
    m = (s > 0.55) & (v > 0.35) & ~((h > 70) & (h < 170))
    m[: im.shape[0] // 2] = False
    return m


def green(im):
    h, s, v = _hsv(im)
    return (h > 70) & (h < 170) & (s > 0.25) & (v > 0.15)


def skin(im):
    h, s, v = _hsv(im)
    return (h >= 10) & (h <= 35) & (s > 0.2) & (s < 0.55) & (v > 0.5)


def white(im):
    return im.min(axis=2) > 215


def light_grey(im):  # sidewalk: light, low saturation, lower half
    h, s, v = _hsv(im)
    m = (s < 0.12) & (v > 0.55) & (v < 0.85)
    m[: im.shape[0] // 2] = False
    return m


def dark_grey_low(im):  # road: dark, low saturation, lower half
    h, s, v = _hsv(im)
    m = (s < 0.12) & (v > 0.2) & (v < 0.4)
    m[: im.shape[0] // 2] = False
    return m


def sky(im):
    h, s, v = _hsv(im)
    return ((h > 190) & (h < 250) & (s > 0.15)) | ((s < 0.1) & (v > 0.9))


def brightness(im):
    return im.mean(axis=2) / 255.0


def vivid_low(im):  # graffiti and litter: vivid or white specks below the horizon
    h, s, v = _hsv(im)
    m = ((s > 0.6) & (v > 0.5)) | (im.min(axis=2) > 225)
    m[: int(im.shape[0] * 0.45)] = False
    return m


@pytest.mark.parametrize(
    ("what", "low", "high", "rule"),
    [
        ("traffic", {"n_cars": 0}, {"n_cars": 8}, car_like),
        ("greenery", {"n_trees": 0}, {"n_trees": 9, "park_side": 1}, green),
        ("people", {"n_people": 0}, {"n_people": 9}, skin),
        ("crossing", {"crossing": False}, {"crossing": True}, white),
        ("sidewalk", {"sidewalk": 0.3}, {"sidewalk": 4.5}, light_grey),
        ("lanes", {"n_lanes": 1, "road_half": 1.8}, {"n_lanes": 4, "road_half": 6.6}, dark_grey_low),
        ("daylight", {"daylight": 0.05}, {"daylight": 0.95}, brightness),
        ("lamps at night", {"daylight": 0.05, "n_lamps": 0}, {"daylight": 0.05, "n_lamps": 6}, brightness),
        ("disorder", {"n_graffiti": 0, "n_litter": 0}, {"n_graffiti": 6, "n_litter": 14}, vivid_low),
        ("enclosure (less sky)", {"height": 40.0}, {"height": 5.0}, sky),
    ],
)
def test_each_factor_changes_the_pixels(what, low, high, rule):
    lo = _share(_pixels(replace(BASE, **low)), rule)
    hi = _share(_pixels(replace(BASE, **high)), rule)
    assert hi > lo * 1.2 + 0.002, f"{what}: {lo:.4f} -> {hi:.4f}"


def test_night_sky_is_dark_and_flat():
    imgs = _pixels(replace(BASE, daylight=0.03, height=5.0))
    top = imgs[:, :20].astype(float)  # the sky band above low buildings
    assert top.mean() < 45 and top.std(axis=(1, 2)).mean() < 25


@pytest.fixture(scope="module")
def styles(tmp_path_factory) -> dict[str, np.ndarray]:
    out = {}
    for style in ("mixed", "night", "traffic", "green"):
        d = tmp_path_factory.mktemp(style)
        city = synthesize(
            SyntheticParams(n_images=20, seed=3, style=style, raters=2, votes_per_rater=1), [], d
        )
        out[style] = np.stack([np.asarray(Image.open(d / f)) for f in city.images["file"]])
    return out


def test_night_style_is_darker(styles):
    assert _share(styles["night"], brightness) < 0.75 * _share(styles["mixed"], brightness)


def test_traffic_style_has_more_car_pixels(styles):
    assert _share(styles["traffic"], car_like) > 1.3 * _share(styles["green"], car_like)
    assert _share(styles["traffic"], car_like) > _share(styles["mixed"], car_like)


def test_green_style_is_greener(styles):
    assert _share(styles["green"], green) > 1.3 * _share(styles["traffic"], green)
