"""Helpers for the scene tests: drawn street pictures, params with a chosen backend."""

from __future__ import annotations

from typing import Any

import numpy as np
from PIL import Image

from perceptops.config import load_params, parse_params
from support import REPO_ROOT

SKY = (110, 160, 230)
TREE = (40, 140, 50)
ROAD = (80, 80, 85)
SIDEWALK = (185, 185, 180)
CAR = (200, 30, 30)
SKIN = (225, 170, 130)
COAT = (40, 40, 55)


def street(
    w: int = 320, h: int = 240, night: bool = False, car: bool = True, person: bool = False
) -> Image.Image:
    """Sky on top, a tree on the left, grey road below with a lighter sidewalk on the right."""
    a = np.zeros((h, w, 3), np.uint8)
    hz = h // 2
    a[:hz] = (12, 12, 16) if night else SKY
    a[hz:] = ROAD
    a[hz:, int(0.8 * w) :] = SIDEWALK
    a[: int(0.75 * h), : w // 4] = TREE
    if car:
        a[int(0.65 * h) : int(0.8 * h), int(0.4 * w) : int(0.6 * w)] = CAR
    if person:  # a skin-toned head over a dark coat, on the sidewalk
        top, x0 = int(0.55 * h), int(0.85 * w)
        a[top : top + 12, x0 : x0 + 10] = SKIN
        a[top + 12 : top + 50, x0 - 2 : x0 + 12] = COAT
    if night:  # street lamps light the road a little; the sky stays dark and flat
        a[hz:] = (a[hz:].astype(np.int32) * 0.5).astype(np.uint8)
    return Image.fromarray(a)


def params_with(**scene: Any):
    d = load_params(REPO_ROOT / "params.yaml").model_dump(by_alias=True)
    d["scene"] = {**d["scene"], **scene}
    return parse_params(d)
