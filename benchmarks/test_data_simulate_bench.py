"""Speed of the synthetic demo city: `make demo` must stay fast on 2 cores.

Run: .venv/bin/pytest benchmarks/test_data_simulate_bench.py --benchmark-only
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from perceptops.config import PanelParams, SyntheticParams
from perceptops.data.simulate import simulate_panel, synthesize


def test_bench_synthesize_default_demo(benchmark, tmp_path):
    """The default demo: 240 scenes of 320x240 rendered + 28,800 simulated votes (target: a few seconds)."""
    city = benchmark.pedantic(
        synthesize, args=(SyntheticParams(), ["traffic", "crime"], tmp_path), rounds=2, iterations=1
    )
    assert len(city.images) == 240
    benchmark.extra_info["per_image_ms"] = 1000 * benchmark.stats.stats.mean / 240


def test_bench_simulate_panel_placepulse1_size(benchmark):
    """A simulated panel for a Place Pulse 1.0-sized city (1,443 photos, 200 raters x 60 votes x 3)."""
    rng = np.random.default_rng(0)
    n = 1443
    items = pd.DataFrame(
        {
            "image_id": [f"{i:064x}" for i in range(n)],
            "score": rng.uniform(0, 10, n),
            "frac_car": rng.uniform(0, 0.2, n),
            "road_share": rng.uniform(0, 0.5, n),
            "sidewalk_share": rng.uniform(0, 0.2, n),
            "person_presence": rng.uniform(0, 1, n),
            "brightness": rng.uniform(0, 1, n),
        }
    )
    votes = benchmark(simulate_panel, items, PanelParams(), ["traffic", "crime"])
    assert len(votes) == 200 * 60 * 3
