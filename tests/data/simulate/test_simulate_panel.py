"""The simulated panels: groups really differ, the general question is shared, real-photo panel."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest
from simulate_helpers import GROUPS, group_q, group_size, random_split_spearman, spearman

from perceptops.config import PanelParams
from perceptops.data.simulate import simulate_panel
from perceptops.errors import DataError


# ------------------------------------------------------------------ the demo city's panel
def test_demo_votes_size_and_ties(demo_city):
    v = demo_city.votes
    assert len(v) == 160 * 60 * 3
    ties = (v["choice"] == "equal").mean()
    assert 0.005 < ties < 0.1
    # both answers occur about equally (pairs are random, so position carries no information)
    share_a = (v["choice"] == "a").mean() / (1 - ties)
    assert 0.45 < share_a < 0.55
    assert v["gender"].value_counts(normalize=True).min() > 0.3
    assert group_size(v, "elderly") >= 25 and group_size(v, "middle-aged") >= 25


def test_women_and_men_rank_crime_differently(demo_city):
    v = demo_city.votes
    rho = spearman(group_q(v, "women", "crime"), group_q(v, "men", "crime"))
    noise = random_split_spearman(v, "crime", (group_size(v, "women"), group_size(v, "men")))
    assert rho < 0.8 and rho < noise - 0.15, (rho, noise)
    assert rho > 0.1  # still the same streets: positively related


def test_elderly_rank_traffic_differently(demo_city):
    v = demo_city.votes
    eld = group_q(v, "elderly", "traffic")
    mid = group_q(v, "middle-aged", "traffic")
    noise = random_split_spearman(v, "traffic", (group_size(v, "elderly"), group_size(v, "middle-aged")))
    assert spearman(eld, mid) < noise - 0.05, (spearman(eld, mid), noise)
    general = group_q(v, None, "general")
    assert 0.2 < spearman(eld, general) < 0.8


@pytest.mark.parametrize("scenario", ["traffic", "crime"])
@pytest.mark.parametrize("group", list(GROUPS))
def test_every_group_scenario_still_relates_to_the_general_ranking(demo_city, group, scenario):
    v = demo_city.votes
    rho = spearman(group_q(v, group, scenario), group_q(v, None, "general"))
    assert 0.2 < rho < 0.95, rho


def test_general_question_uses_one_average_weighting(demo_city):
    """Women and men answer 'general' alike: their agreement is at the noise level of a random split."""
    v = demo_city.votes
    rho = spearman(group_q(v, "women", "general"), group_q(v, "men", "general"))
    noise = random_split_spearman(v, "general", (group_size(v, "women"), group_size(v, "men")))
    assert rho > noise - 0.07, (rho, noise)


# ------------------------------------------------------------------ real photos
def _items(n: int = 80, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "image_id": [f"{i:064x}" for i in rng.permutation(10_000)[:n]],
            "score": rng.uniform(2.0, 8.0, n),
            "frac_car": rng.uniform(0.0, 0.2, n),
            "frac_truck": rng.uniform(0.0, 0.02, n),
            "road_share": rng.uniform(0.1, 0.5, n),
            "sidewalk_share": rng.uniform(0.0, 0.2, n),
            "person_presence": rng.uniform(0.0, 1.0, n),
            "brightness": rng.uniform(0.1, 0.9, n),
        }
    )


PANEL = PanelParams(raters=120, votes_per_rater=80)


@pytest.fixture(scope="module")
def real_votes() -> pd.DataFrame:
    return simulate_panel(_items(), PANEL, ["traffic", "crime"])


def test_real_panel_schema(real_votes):
    v = real_votes
    assert list(v.columns) == ["image_a", "image_b", "choice", "rater_id", "scenario", "gender", "age"]
    assert len(v) == 120 * 80 * 3
    assert set(v["image_a"]) | set(v["image_b"]) <= set(_items()["image_id"])
    assert (v["image_a"] != v["image_b"]).all()
    assert set(v["choice"]) <= {"a", "b", "equal"} and set(v["scenario"]) == {"general", "traffic", "crime"}
    assert v["age"].between(18, 85).all() and set(v["gender"]) == {"female", "male"}


def test_real_panel_is_deterministic_and_seeded(real_votes):
    pd.testing.assert_frame_equal(real_votes, simulate_panel(_items(), PANEL, ["traffic", "crime"]))
    # row order of the input does not matter
    shuffled = _items().sample(frac=1.0, random_state=1)
    pd.testing.assert_frame_equal(real_votes, simulate_panel(shuffled, PANEL, ["traffic", "crime"]))
    other = simulate_panel(
        _items(), PanelParams(raters=120, votes_per_rater=80, seed=12), ["traffic", "crime"]
    )
    assert not other.equals(real_votes)


def test_real_panel_keeps_the_crowd_ranking(real_votes):
    items = _items().set_index("image_id")
    q = group_q(real_votes, None, "general")
    assert spearman(q, items["score"]) > 0.8


def test_real_panel_group_deviations_follow_the_scene_parse(real_votes):
    items = _items().set_index("image_id")
    v = real_votes
    gap = group_q(v, "women", "crime") - group_q(v, "men", "crime")
    assert spearman(gap, items["brightness"]) > 0.3  # women weigh darkness more
    gap = group_q(v, "elderly", "traffic") - group_q(v, "middle-aged", "traffic")
    cars = items["frac_car"] + items["frac_truck"]
    assert spearman(gap, cars) < -0.2  # the elderly penalise traffic more


def test_real_panel_missing_score_column_is_a_data_error():
    with pytest.raises(DataError, match="score"):
        simulate_panel(_items().drop(columns="score"), PANEL, ["crime"])


def test_real_panel_duplicate_ids_are_a_data_error():
    items = _items(10)
    items.loc[3, "image_id"] = items.loc[2, "image_id"]
    with pytest.raises(DataError, match="duplicate image_id"):
        simulate_panel(items, PANEL, ["crime"])


def test_real_panel_drops_images_without_a_score(caplog):
    items = _items(10)
    items.loc[[0, 4], "score"] = np.nan
    with caplog.at_level(logging.WARNING, logger="perceptops.data.simulate"):
        v = simulate_panel(items, PanelParams(raters=5, votes_per_rater=20), ["crime"])
    assert "2 images without a finite crowd score" in caplog.text
    used = set(v["image_a"]) | set(v["image_b"])
    assert not used & set(items.loc[[0, 4], "image_id"])
    with pytest.raises(DataError, match="at least 2 images"):
        simulate_panel(items.iloc[:1], PANEL, ["crime"])


def test_real_panel_without_scene_columns_still_runs_and_says_so(caplog):
    items = _items(20)[["image_id", "score"]]
    with caplog.at_level(logging.WARNING, logger="perceptops.data.simulate"):
        v = simulate_panel(items, PanelParams(raters=4, votes_per_rater=5), ["traffic"])
    assert "absent" in caplog.text and len(v) == 4 * 5 * 2
