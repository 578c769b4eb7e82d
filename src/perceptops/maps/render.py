"""Point maps on lat/lon: a colourbar, a km scale bar, never a basemap download (no network at run time)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

KM_PER_DEG_LAT = 111.32
PAD_DEG = 0.002  # a one-point (or one-street) city still gets a visible frame


def nice_length(km: float) -> float:
    """The largest 1/2/5 x 10^k at or below ``km`` (scale-bar length)."""
    if km <= 0:
        return 0.1
    exp = math.floor(math.log10(km))
    for m in (5, 2, 1):
        if m * 10**exp <= km:
            return m * 10**exp
    return 10**exp


def _extent(lat: np.ndarray, lon: np.ndarray) -> tuple[float, float, float, float]:
    la0, la1 = float(lat.min()), float(lat.max())
    lo0, lo1 = float(lon.min()), float(lon.max())
    pad_la = max((la1 - la0) * 0.06, PAD_DEG)
    pad_lo = max((lo1 - lo0) * 0.06, PAD_DEG)
    return la0 - pad_la, la1 + pad_la, lo0 - pad_lo, lo1 + pad_lo


def _scale_bar(ax, extent: tuple[float, float, float, float]) -> float:
    la0, la1, lo0, lo1 = extent
    lat_mid = (la0 + la1) / 2
    km_per_deg_lon = KM_PER_DEG_LAT * max(math.cos(math.radians(lat_mid)), 1e-6)
    width_km = (lo1 - lo0) * km_per_deg_lon
    length_km = nice_length(width_km / 4)
    length_deg = length_km / km_per_deg_lon
    x0 = lo0 + (lo1 - lo0) * 0.05
    y0 = la0 + (la1 - la0) * 0.05
    ax.plot([x0, x0 + length_deg], [y0, y0], color="black", linewidth=3, solid_capstyle="butt")
    label = f"{length_km:g} km" if length_km >= 1 else f"{length_km * 1000:g} m"
    ax.text(x0 + length_deg / 2, y0 + (la1 - la0) * 0.015, label, ha="center", va="bottom", fontsize=8)
    return length_km


def point_map(
    path: Path,
    lat: np.ndarray,
    lon: np.ndarray,
    values: np.ndarray,
    title: str,
    *,
    diverging: bool = False,
    point_size: float = 18.0,
    label: str = "perceived safety (0-10)",
) -> float:
    """Write one PNG; returns the scale-bar length in km. ``diverging``: symmetric around 0 (group - general)."""
    import matplotlib

    matplotlib.use("Agg")  # no display, no GUI backends
    import matplotlib.pyplot as plt

    from perceptops.utils import atomic_path

    lat = np.asarray(lat, dtype=float)
    lon = np.asarray(lon, dtype=float)
    values = np.asarray(values, dtype=float)
    extent = _extent(lat, lon)
    fig, ax = plt.subplots(figsize=(6.4, 5.6), dpi=90, layout="constrained")
    if diverging:
        span = float(np.nanmax(np.abs(values))) if values.size else 1.0
        span = span if span > 0 else 1.0
        # red = the group feels less safe than the general model says
        sc = ax.scatter(
            lon, lat, c=values, cmap="RdBu", vmin=-span, vmax=span, s=point_size, edgecolors="none"
        )
    else:
        sc = ax.scatter(lon, lat, c=values, cmap="RdYlGn", vmin=0, vmax=10, s=point_size, edgecolors="none")
    cb = fig.colorbar(sc, ax=ax, shrink=0.8)
    cb.set_label(label)
    ax.set_xlim(extent[2], extent[3])
    ax.set_ylim(extent[0], extent[1])
    # equirectangular: one km looks the same both ways at this latitude
    ax.set_aspect(1 / max(math.cos(math.radians((extent[0] + extent[1]) / 2)), 1e-6))
    ax.set_xlabel("longitude")
    ax.set_ylabel("latitude")
    ax.set_title(title, fontsize=10)
    ax.ticklabel_format(useOffset=False)
    ax.tick_params(labelsize=7)
    km = _scale_bar(ax, extent)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)
    return km
