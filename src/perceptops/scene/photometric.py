"""Photometric statistics of an RGB image, computed the same way for every scene backend.

All stats are computed on a working copy downscaled to at most ``WORK_SIDE`` pixels on the long
side (never upscaled), so they do not depend on how large the source photo was:

- ``brightness``: mean luma Y = 0.299 R + 0.587 G + 0.114 B, in [0, 1] (black 0, white 1).
- ``contrast``: RMS contrast, the standard deviation of luma, in [0, 0.5].
- ``colourfulness``: Hasler & Suesstrunk (2003) M = sigma_rgyb + 0.3 mu_rgyb on the 0-255 scale
  (0 for grey; above ~100 for very colourful images).
- ``saturation``: mean HSV saturation, in [0, 1].
- ``sharpness``: variance of the 4-neighbour Laplacian of luma on the 0-255 scale.
- ``edge_density``: share of pixels whose Sobel luma step exceeds ``EDGE_STEP`` (0.1 of full scale).
- ``entropy``: Shannon entropy (bits) of the 256-bin luma histogram, in [0, 8].
"""

from __future__ import annotations

import numpy as np

WORK_SIDE = 512
EDGE_STEP = 0.1


def working_array(image, max_side: int = WORK_SIDE) -> np.ndarray:
    """RGB uint8 array of ``image`` (PIL), downscaled so the long side is at most ``max_side``."""
    from PIL import Image

    img = image.convert("RGB") if image.mode != "RGB" else image
    w, h = img.size
    scale = max_side / max(w, h)
    if scale < 1:
        img = img.resize((max(1, round(w * scale)), max(1, round(h * scale))), Image.Resampling.BILINEAR)
    return np.asarray(img, dtype=np.uint8)


def hsv(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Vectorised RGB (uint8) -> hue in degrees [0, 360), saturation and value in [0, 1]."""
    x = rgb.astype(np.float32) / 255.0
    r, g, b = x[..., 0], x[..., 1], x[..., 2]
    v = x.max(axis=-1)
    mn = x.min(axis=-1)
    d = v - mn
    s = np.where(v > 0, d / np.maximum(v, 1e-12), 0.0)
    safe = np.maximum(d, 1e-12)
    h = np.where(
        v == r,
        ((g - b) / safe) % 6.0,
        np.where(v == g, (b - r) / safe + 2.0, (r - g) / safe + 4.0),
    )
    h = np.where(d > 0, h * 60.0, 0.0)
    return h.astype(np.float32), s.astype(np.float32), v.astype(np.float32)


def luma(rgb: np.ndarray) -> np.ndarray:
    x = rgb.astype(np.float32) / 255.0
    return 0.299 * x[..., 0] + 0.587 * x[..., 1] + 0.114 * x[..., 2]


def photometric_stats(rgb: np.ndarray) -> dict[str, float]:
    """The seven photometric stats of an RGB uint8 array (see the module docstring)."""
    from scipy import ndimage

    y = luma(rgb)
    _, s, _ = hsv(rgb)
    x = rgb.astype(np.float64)
    rg = x[..., 0] - x[..., 1]
    yb = 0.5 * (x[..., 0] + x[..., 1]) - x[..., 2]
    colourfulness = float(np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean()))
    y255 = y.astype(np.float64) * 255.0
    lap = ndimage.laplace(y255, mode="reflect")
    # Sobel of a unit step is 4 (the 1-2-1 smoothing sums to 4): divide to get the step size.
    gx = ndimage.sobel(y, axis=1, mode="reflect") / 4.0
    gy = ndimage.sobel(y, axis=0, mode="reflect") / 4.0
    edges = np.hypot(gx, gy) > EDGE_STEP
    hist = np.bincount(np.clip(np.round(y255), 0, 255).astype(np.int64).ravel(), minlength=256)
    p = hist[hist > 0] / hist.sum()
    return {
        "brightness": float(y.mean()),
        "contrast": float(y.std()),
        "colourfulness": colourfulness,
        "saturation": float(s.mean()),
        "sharpness": float(lap.var()),
        "edge_density": float(edges.mean()),
        "entropy": float(max(0.0, -(p * np.log2(p)).sum())),
    }
