"""The two public entry points: the synthetic demo city, and a simulated panel for real photos."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from perceptops.errors import ConfigError, DataError

if TYPE_CHECKING:
    from perceptops.config import PanelParams, SyntheticParams

log = logging.getLogger(__name__)

ID_PREFIX = "demo-"
MIN_SIDE = 32  # below this the perspective drawing degenerates
KM_PER_DEG_LAT = 110.574
KM_PER_DEG_LON_EQ = 111.320


@dataclass(frozen=True)
class SyntheticCity:
    """The rendered demo city: one row per PNG, and the simulated panel's individual votes."""

    images: pd.DataFrame  # source_id, file, lat, lon, heading, captured_at
    votes: pd.DataFrame  # image_a, image_b, choice, rater_id, scenario, gender, age


def _check_size(sp: SyntheticParams) -> None:
    for key in ("width", "height"):
        if getattr(sp, key) < MIN_SIDE:
            raise ConfigError(f"synthetic.{key} is {getattr(sp, key)}: use at least {MIN_SIDE} pixels")


def _captured_at(daylight: float, rng: np.random.Generator) -> str:
    if daylight < 0.25:
        hour = int(rng.choice([21, 22, 23, 0, 1, 2, 3, 4]))
    elif daylight < 0.7:
        hour = int(rng.choice([6, 7, 17, 18]))
    else:
        hour = int(rng.integers(9, 16))
    t = datetime(2025, 10, 1) + timedelta(
        days=int(rng.integers(0, 45)), hours=hour, minutes=int(rng.integers(0, 60))
    )
    return t.strftime("%Y-%m-%dT%H:%M:%S")


def synthesize(sp: SyntheticParams, scenarios: list[str], out_dir: Path) -> SyntheticCity:
    """Render sp.n_images PNG street scenes into out_dir and simulate the survey panel. Deterministic.

    Files are named ``demo-NNNNNN.png``; older ``demo-*.png`` files in ``out_dir`` that are not part of
    this city are removed so the folder holds exactly the city. Votes use the source ids.
    """
    from perceptops.data.simulate._factors import latent_factors, scene_of, visible_features
    from perceptops.data.simulate._panel import make_raters, simulate_votes, synthetic_utilities
    from perceptops.data.simulate._render import render
    from perceptops.progress import track

    _check_size(sp)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    n = sp.n_images
    factors = latent_factors(n, sp.seed, sp.style)
    lat0, lon0 = sp.center
    half = sp.extent_km / 2.0
    lat = lat0 + factors["y"].to_numpy() * half / KM_PER_DEG_LAT
    lon = lon0 + factors["x"].to_numpy() * half / (KM_PER_DEG_LON_EQ * np.cos(np.radians(lat0)))
    rows, feats = [], []
    for i in track(range(n), description=f"rendering {n} synthetic scenes", total=n):
        rng = np.random.default_rng([sp.seed, 2, i])
        scene = scene_of(factors.iloc[i], rng)
        sid = f"{ID_PREFIX}{i:06d}"
        (out_dir / f"{sid}.png").write_bytes(render(scene, sp.width, sp.height, rng))
        heading = (90.0 * rng.integers(0, 4) + rng.normal(0.0, 6.0)) % 360.0
        rows.append(
            (
                sid,
                f"{sid}.png",
                float(lat[i]),
                float(lon[i]),
                float(round(heading, 2)),
                _captured_at(scene.daylight, rng),
            )
        )
        feats.append(visible_features(scene))
    keep = {r[1] for r in rows}
    for stale in out_dir.glob(f"{ID_PREFIX}*.png"):
        if stale.name not in keep:
            stale.unlink()
    images = pd.DataFrame(rows, columns=["source_id", "file", "lat", "lon", "heading", "captured_at"])
    prng = np.random.default_rng([sp.seed, 3])
    raters = make_raters(sp.raters, prng)
    util = synthetic_utilities(np.vstack(feats), raters, list(scenarios), prng)
    votes = simulate_votes(images["source_id"].tolist(), util, raters, sp.votes_per_rater, sp.noise, prng)
    return SyntheticCity(images=images, votes=votes)


def simulate_panel(items: pd.DataFrame, panel: PanelParams, scenarios: list[str]) -> pd.DataFrame:
    """Real city with crowd scores but no individual data (Place Pulse 1.0): items has image_id, score (0-10 crowd
    Q-score) and the scene-parse columns of docs/architecture.md; returns individual-level votes (same columns as
    SyntheticCity.votes, with image ids). Documented as a simulation with its own seeded weights.

    The crowd score is every rater's base utility, so the crowd's aggregate ranking is kept up to noise;
    scenario and group deviations follow the scene parse (cars, road share, darkness, people). Rows
    without a finite score are left out (logged). Same inputs -> same votes.
    """
    from perceptops.data.simulate._panel import make_raters, real_utilities, simulate_votes

    missing = [c for c in ("image_id", "score") if c not in items.columns]
    if missing:
        raise DataError(
            f"simulate_panel needs columns image_id and score; missing: {', '.join(missing)} "
            "(join the crowd scores with the scene parse by image_id first)"
        )
    dup = items["image_id"].duplicated()
    if dup.any():
        raise DataError(
            f"simulate_panel got {int(dup.sum())} duplicate image_id rows "
            f"(e.g. {items.loc[dup, 'image_id'].iloc[0]}); pass one row per image"
        )
    score = pd.to_numeric(items["score"], errors="coerce")
    ok = np.isfinite(score.to_numpy(dtype=float))
    if (~ok).any():
        log.warning("simulated panel: %d images without a finite crowd score are left out", int((~ok).sum()))
    items = items.loc[ok].sort_values("image_id", kind="stable").reset_index(drop=True)
    if len(items) < 2:
        raise DataError(f"simulate_panel needs at least 2 images with a crowd score, got {len(items)}")
    rng = np.random.default_rng([panel.seed, 5])
    raters = make_raters(panel.raters, rng, prefix="p")
    util = real_utilities(items, raters, list(scenarios), rng)
    return simulate_votes(
        items["image_id"].astype(str).tolist(), util, raters, panel.votes_per_rater, panel.noise, rng
    )
