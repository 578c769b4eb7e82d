"""A contact sheet of demo scenes for the README (``python -m perceptops.data.simulate``)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from perceptops.config import SyntheticParams


def contact_sheet(
    out: Path, sp: SyntheticParams | None = None, n: int = 16, cols: int = 4, gap: int = 4
) -> Path:
    """The first ``n`` scenes of the city ``sp`` (default: the demo) in a grid, as one PNG."""
    from PIL import Image

    from perceptops.data.simulate._factors import latent_factors, scene_of
    from perceptops.data.simulate._render import render

    sp = sp or SyntheticParams()
    n = min(n, sp.n_images)
    factors = latent_factors(sp.n_images, sp.seed, sp.style)  # the whole city: same scenes as the demo
    rows = -(-n // cols)
    sheet = Image.new(
        "RGB", (cols * sp.width + (cols - 1) * gap, rows * sp.height + (rows - 1) * gap), "white"
    )
    for i in range(n):
        rng = np.random.default_rng([sp.seed, 2, i])
        tile = Image.open(io.BytesIO(render(scene_of(factors.iloc[i], rng), sp.width, sp.height, rng)))
        sheet.paste(tile, ((i % cols) * (sp.width + gap), (i // cols) * (sp.height + gap)))
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(out, format="PNG", optimize=True)
    return out
