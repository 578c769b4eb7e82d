"""The method's central claim on the demo city: a group's fine-tune beats the general model on that group.

Reads the models and the evaluation of the session pipeline (conftest.pipeline_project: the small test
demo), on the images the general model never trained on. Asserted for the targets whose simulated
perception differs from the crowd in ways the pixel scene parse can see (women-crime: lighting and
isolation; elderly-traffic: road width and traffic).

What holds today (several runs): the fine-tune *ranks* that group's images clearly closer to the group's
own Q-scores than the general model does (Spearman +0.11 to +0.13 in two runs; before the describer and
simulator changes of this test's commit: women-crime -0.04, elderly-traffic +0.01). The accuracy at threshold 5
gains only -0.01 to +0.08 between runs (too noisy on ~90 images to assert +0.05): not asserted here.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

pytestmark = pytest.mark.integration

MUST_WIN = ("women-crime", "elderly-traffic")
RANK_MARGIN = 0.06  # Spearman gain; measured +0.10 to +0.13 on the test demo


def rank_gain(root, target: str) -> tuple[float, float, int]:
    """(Spearman of the general model, of the fine-tune) with the group's Q-scores, on held-out images."""
    from scipy.stats import spearmanr

    from perceptops.config import load_params
    from perceptops.model import io
    from perceptops.model.data import load_pairs
    from perceptops.paths import Layout

    params, lay = load_params(root / "params.yaml"), Layout(root)
    city = params.train_city
    group, scenario = params.parse_target(target)
    qs = pd.read_parquet(lay.qscores(city))
    q = qs[
        (qs["group"] == group) & (qs["scenario"] == scenario) & (qs["n"] >= params.evaluate.min_comparisons)
    ]
    q = q.set_index("image_id")["q"]
    split = pd.read_parquet(lay.general_model_dir() / "split.parquet")
    used = set(split.loc[split["split"].isin(["train", "val"]), "image_id"])
    gp, enc = load_pairs(lay, city, "general")
    tp, _ = load_pairs(lay, city, target)
    gpos, tpos = gp.index(), tp.index()
    ids = sorted(i for i in q.index if i not in used and i in gpos and i in tpos)
    gi, ti = np.array([gpos[i] for i in ids]), np.array([tpos[i] for i in ids])
    s_gen = io.load_model(lay.general_model_dir(), encoders=enc).score(gp.image[gi], gp.text[gi])
    s_fin = io.load_model(lay.finetune_dir(target), encoders=enc).score(tp.image[ti], tp.text[ti])
    truth = q.loc[ids].to_numpy()
    return float(spearmanr(s_gen, truth)[0]), float(spearmanr(s_fin, truth)[0]), len(ids)


@pytest.mark.parametrize("target", MUST_WIN)
def test_finetune_ranks_its_group_closer_than_the_general_model(pipeline_project, target):
    gen, fin, n = rank_gain(pipeline_project, target)
    assert n >= 40, n  # enough held-out images for the margin to mean something
    assert fin - gen >= RANK_MARGIN, f"{target}: Spearman fine-tune {fin:.3f} vs general {gen:.3f} (n={n})"
