"""The ``pixel`` scene backend: colour and position rules that approximate Cityscapes classes.

No model, no download: the offline default. It is a rough parser, good for rendered scenes and for
coarse indices on photos; use ``tflite`` or ``transformers`` for real segmentation.

Let H be hue in degrees, S and V HSV saturation and value in [0, 1], Vn = V divided by the
image's 99th-percentile V (at least 0.25: an exposure normalisation so dusk scenes still parse),
and y the row position from 0 (top) to 1 (bottom). Night: mean V below ``NIGHT_V``.
Each pixel takes the first rule it meets:

1. ``vegetation``: 70 <= H <= 170 and S > 0.25 and V > 0.08 (green).
2. ``person``: skin tone, 10 <= H <= 35, 0.2 <= S <= 0.6, V > 0.3, y > 0.2, in connected blobs of at
   least 0.05% of the image.
3. ``car``: strongly saturated non-green, S > 0.5, V > 0.2, H outside 70-170, y >= 0.5 (on the road
   half), in connected blobs of at least 0.2% of the image.
4. ``sky`` (only y < 0.5, the upper half): blue (190 <= H <= 250, S > 0.12, Vn > 0.45), or bright low-saturation
   (S < 0.15, Vn > 0.75), or at night dark and flat (V < 0.18 and the 5x5 local std of V < 0.03).
5. ``road``: y >= 0.5, S < 0.18, 0.1 <= Vn <= 0.6 (darker grey, lower half).
6. ``sidewalk``: y >= 0.5, S < 0.18, 0.6 < Vn <= 0.92 (lighter grey beside the road).
7. ``building``: everything else.

The other Cityscapes classes are never produced by this backend (their fractions are 0).
Label maps are computed on a copy downscaled to at most ``PIXEL_SIDE`` on the long side.
"""

from __future__ import annotations

import numpy as np

from perceptops.scene import CITYSCAPES_CLASSES
from perceptops.scene.photometric import hsv, working_array

PIXEL_SIDE = 256
NIGHT_V = 0.3
RULES_VERSION = "2"

_ID = {name: i for i, name in enumerate(CITYSCAPES_CLASSES)}


def _blobs(mask: np.ndarray, min_share: float) -> np.ndarray:
    """Keep the 8-connected components of ``mask`` that cover at least ``min_share`` of the image."""
    from scipy import ndimage

    if not mask.any():
        return mask
    labels, n = ndimage.label(mask, structure=np.ones((3, 3), dtype=bool))
    sizes = np.bincount(labels.ravel(), minlength=n + 1)
    keep = sizes >= max(1, min_share * mask.size)
    keep[0] = False
    return keep[labels]


def pixel_label_map(rgb: np.ndarray) -> np.ndarray:
    """Cityscapes label ids (uint8, same height/width as ``rgb``) by the rules of this module."""
    from scipy import ndimage

    h_img, w_img = rgb.shape[:2]
    h, s, v = hsv(rgb)
    vn = np.clip(v / max(float(np.percentile(v, 99)), 0.25), 0.0, 1.0)
    y = np.broadcast_to((np.arange(h_img, dtype=np.float32) / max(h_img - 1, 1))[:, None], v.shape)
    night = float(v.mean()) < NIGHT_V
    green = (h >= 70) & (h <= 170)

    out = np.full(v.shape, _ID["building"], dtype=np.uint8)
    free = np.ones(v.shape, dtype=bool)

    def assign(mask: np.ndarray, name: str) -> None:
        nonlocal free
        m = mask & free
        out[m] = _ID[name]
        free &= ~m

    assign(green & (s > 0.25) & (v > 0.08), "vegetation")
    skin = (h >= 10) & (h <= 35) & (s >= 0.2) & (s <= 0.6) & (v > 0.3) & (y > 0.2)
    assign(_blobs(skin & free, 0.0005), "person")
    car = (s > 0.5) & (v > 0.2) & ~green & (y >= 0.5)
    assign(_blobs(car & free, 0.002), "car")
    upper = y < 0.5
    blue = (h >= 190) & (h <= 250) & (s > 0.12) & (vn > 0.45)
    bright = (s < 0.15) & (vn > 0.75)
    sky = blue | bright
    if night:
        mean = ndimage.uniform_filter(v, size=5, mode="reflect")
        sq = ndimage.uniform_filter(v * v, size=5, mode="reflect")
        flat = np.sqrt(np.maximum(sq - mean * mean, 0.0)) < 0.03
        sky |= (v < 0.18) & flat
    assign(sky & upper, "sky")
    grey = (y >= 0.5) & (s < 0.18)
    assign(grey & (vn >= 0.1) & (vn <= 0.6), "road")
    assign(grey & (vn > 0.6) & (vn <= 0.92), "sidewalk")
    return out


class PixelBackend:
    """Rule-based parser; ``id`` changes when the rules change (``RULES_VERSION``)."""

    name = "pixel"

    def __init__(self) -> None:
        self.id = f"pixel:rules-v{RULES_VERSION}:side{PIXEL_SIDE}"

    def label_maps(self, images: list) -> list[np.ndarray]:
        return [pixel_label_map(working_array(im, PIXEL_SIDE)) for im in images]

    def close(self) -> None:
        pass
