"""The ``pixel`` scene backend: colour and position rules that approximate Cityscapes classes.

No model, no download: the offline default. It is a rough parser, good for rendered scenes (the demo
city is drawn in colours these rules recognise) and for coarse indices on photos; use ``tflite`` or
``transformers`` for real segmentation.

Let H be hue in degrees, S and V HSV saturation and value in [0, 1], Vn = V divided by the image's
99th-percentile V (at least 0.25: an exposure normalisation so dusk scenes still parse), y the row
position from 0 (top) to 1 (bottom). "Grey" is S < 0.25. Night: mean V below ``NIGHT_V``.
A blob is an 8-connected component. Each pixel takes the first rule it meets:

1. ``vegetation``: 70 <= H <= 170, S > 0.25, V > 0.05 (green).
2. ``person``: skin-tone heads - blobs of 10 <= H <= 35, 0.2 <= S <= 0.6, V > 0.05, y > 0.2, of
   0.01%-0.5% of the image with a bounding box aspect between 1:2 and 2:1 - plus the body under each
   head: a box 1.5 head widths wide and 4 head heights tall (the body hides what is behind it).
3. ``car``: strongly saturated non-green blobs on the lower half: S > 0.7, V > 0.05, H outside
   70-170, y >= 0.5, blobs of at least 0.1% of the image whose bounding box is at least 35% filled and
   between 2:5 and 5:1 wide:high (thin lane lines and scattered specks are not cars).
4. ``sky``: upper half only (y < 0.5), blobs touching the top 5% of rows, of blue to violet
   (190 <= H <= 290, S > 0.12, Vn > 0.35), or bright low-saturation (S < 0.15, Vn > 0.75), or at
   night dark, flat (5x5 local std of V < 0.03) and either bluish (190-290, S > 0.2, V < 0.25) or
   black (V < 0.05).
5. ``road`` / ``sidewalk`` (lower half, grey): with R = the 30th percentile of V over the lower
   half's grey pixels still free, ``sidewalk`` is 1.4 R < V <= 2.8 R (lighter grey beside the road),
   ``road`` is the rest of the lower-half grey (darker asphalt, and bright road markings above 2.8 R).
6. ``building``: everything else.

The other Cityscapes classes are never produced by this backend (their fractions are 0).
Label maps are computed on a copy downscaled to at most ``PIXEL_SIDE`` on the long side.
"""

from __future__ import annotations

import numpy as np

from perceptops.scene import CITYSCAPES_CLASSES
from perceptops.scene.photometric import hsv, working_array

PIXEL_SIDE = 320
NIGHT_V = 0.3
RULES_VERSION = "3"

_ID = {name: i for i, name in enumerate(CITYSCAPES_CLASSES)}
_EIGHT = np.ones((3, 3), dtype=bool)


def _components(mask: np.ndarray):
    from scipy import ndimage

    labels, n = ndimage.label(mask, structure=_EIGHT)
    return labels, n, ndimage.find_objects(labels)


def _blobs(
    mask: np.ndarray,
    min_share: float,
    max_share: float = 1.0,
    aspect: tuple[float, float] = (0.0, np.inf),
    min_fill: float = 0.0,
) -> tuple[np.ndarray, list[tuple[slice, slice]]]:
    """Components of ``mask`` within the size share, width:height ``aspect`` and bbox ``min_fill``."""
    keep_mask = np.zeros_like(mask)
    boxes: list[tuple[slice, slice]] = []
    if not mask.any():
        return keep_mask, boxes
    labels, n, objs = _components(mask)
    sizes = np.bincount(labels.ravel(), minlength=n + 1)
    lo, hi = max(1, min_share * mask.size), max_share * mask.size
    for i, sl in enumerate(objs, start=1):
        if sl is None or not (lo <= sizes[i] <= hi):
            continue
        bh, bw = sl[0].stop - sl[0].start, sl[1].stop - sl[1].start
        if not (aspect[0] <= bw / bh <= aspect[1]) or sizes[i] / (bh * bw) < min_fill:
            continue
        keep_mask[sl] |= labels[sl] == i
        boxes.append(sl)
    return keep_mask, boxes


def _touching_top(mask: np.ndarray, rows: int) -> np.ndarray:
    if not mask.any():
        return mask
    labels, _, _ = _components(mask)
    top = np.unique(labels[:rows])
    top = top[top > 0]
    return np.isin(labels, top)


def pixel_label_map(rgb: np.ndarray) -> np.ndarray:
    """Cityscapes label ids (uint8, same height/width as ``rgb``) by the rules of this module."""
    from scipy import ndimage

    h_img, w_img = rgb.shape[:2]
    h, s, v = hsv(rgb)
    vn = np.clip(v / max(float(np.percentile(v, 99)), 0.25), 0.0, 1.0)
    y = np.broadcast_to((np.arange(h_img, dtype=np.float32) / max(h_img - 1, 1))[:, None], v.shape)
    night = float(v.mean()) < NIGHT_V
    green = (h >= 70) & (h <= 170)
    lower = y >= 0.5

    out = np.full(v.shape, _ID["building"], dtype=np.uint8)
    free = np.ones(v.shape, dtype=bool)

    def assign(mask: np.ndarray, name: str) -> None:
        m = mask & free
        out[m] = _ID[name]
        free[m] = False

    assign(green & (s > 0.25) & (v > 0.05), "vegetation")

    skin = (h >= 10) & (h <= 35) & (s >= 0.2) & (s <= 0.6) & (v > 0.05) & (y > 0.2) & free
    heads, boxes = _blobs(skin, 0.0001, 0.005, aspect=(0.5, 2.0), min_fill=0.55)
    person = heads.copy()
    for ys, xs in boxes:
        hh, hw = ys.stop - ys.start, xs.stop - xs.start
        x0, x1 = max(0, int(xs.start - 0.25 * hw)), min(w_img, int(np.ceil(xs.stop + 0.25 * hw)))
        person[ys.stop : min(h_img, ys.stop + 4 * hh), x0:x1] = True
    assign(person, "person")

    car = (s > 0.7) & (v > 0.05) & ~green & lower & free
    assign(_blobs(car, 0.001, aspect=(0.4, 5.0), min_fill=0.35)[0], "car")

    blue = (h >= 190) & (h <= 290) & (s > 0.12) & (vn > 0.35)
    sky = blue | ((s < 0.15) & (vn > 0.75))
    if night:
        mean = ndimage.uniform_filter(v, size=5, mode="reflect")
        sq = ndimage.uniform_filter(v * v, size=5, mode="reflect")
        flat = np.sqrt(np.maximum(sq - mean * mean, 0.0)) < 0.03
        bluish = (h >= 190) & (h <= 290) & (s > 0.2) & (v < 0.25)
        sky |= flat & (bluish | (v < 0.05))
    assign(_touching_top(sky & ~lower & free, max(1, int(0.05 * h_img))), "sky")

    grey = (s < 0.25) & lower & free
    ref = float(np.percentile(v[grey], 30)) if grey.sum() > 0.01 * v.size else 0.3
    walk = grey & (v > 1.4 * ref) & (v <= 2.8 * ref)
    assign(walk, "sidewalk")
    assign(grey, "road")
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
