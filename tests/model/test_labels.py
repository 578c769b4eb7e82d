from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from modeltest_support import small_params

from perceptops.errors import DataError
from perceptops.model.labels import labels_from_qscores, make_labels
from perceptops.paths import Layout


def _q(values, group="all", scenario="general"):
    return pd.DataFrame(
        {
            "image_id": [f"i{k:03d}" for k in range(len(values))],
            "group": group,
            "scenario": scenario,
            "q": values,
            "n": 5,
        }
    )


def test_sd_rule_labels_tails_and_drops_middle():
    q = np.linspace(0, 10, 101)
    other = _q(np.full(101, 9.0), group="women", scenario="crime")  # must be ignored
    out = labels_from_qscores(pd.concat([_q(q), other]), k_sd=1.0)
    mean, sd = q.mean(), q.std()
    assert set(out.columns) == {"image_id", "q", "label"}
    assert (out.loc[out.label == 1, "q"] > mean + sd).all()
    assert (out.loc[out.label == 0, "q"] < mean - sd).all()
    kept = (q > mean + sd) | (q < mean - sd)
    assert len(out) == kept.sum() < len(q)  # the middle is dropped
    assert out["image_id"].is_unique


def test_k_zero_keeps_everything_but_the_mean():
    out = labels_from_qscores(_q([1.0, 2.0, 8.0, 9.0]), k_sd=0.0)
    assert out.set_index("image_id")["label"].to_dict() == {"i000": 0, "i001": 0, "i002": 1, "i003": 1}


def test_empty_class_names_k_sd():
    # One outlier far above: with a large k nothing lies below mean - k sd.
    with pytest.raises(DataError, match=r"labels\.k_sd") as err:
        labels_from_qscores(_q([5.0] * 20 + [10.0]), k_sd=2.0)
    assert "no unsafe examples" in str(err.value)


def test_missing_general_rows_is_a_clear_error():
    with pytest.raises(DataError, match="general Q-score"):
        labels_from_qscores(_q([1.0, 9.0], group="women", scenario="crime"), k_sd=0.5)


def test_stage_writes_labels(city):
    layout, info = city
    summary = make_labels(small_params(), layout)
    out = pd.read_parquet(layout.labels())
    assert summary["labelled"] == len(out) and summary["safe"] + summary["unsafe"] == len(out)
    assert set(out["image_id"]) <= set(info["ids"])


def test_stage_without_survey(tmp_path):
    with pytest.raises(DataError, match="survey stage"):
        make_labels(small_params(), Layout(tmp_path))
