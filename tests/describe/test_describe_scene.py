"""The built-in scene describer: knowledge from prompts/knowledge.yaml, emphasis from persona/risk words."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from perceptops.config import load_params
from perceptops.describe.scene_backend import describe_scene, plan_for, verdict

DARK_ISOLATED = {  # a dark lane between walls, nobody around, little traffic
    "brightness": 0.22,
    "person_presence": 0.0,
    "frac_person": 0.0,
    "frac_building": 0.2,
    "edge_density": 0.03,
    "green_view": 0.02,
    "colourfulness": 0.1,
    "frac_wall": 0.06,
    "frac_fence": 0.1,
    "sky_view": 0.2,
    "car_presence": 0.0,
    "frac_car": 0.0,
    "road_share": 0.1,
    "sidewalk_share": 0.12,
    "frac_traffic_light": 0.0,
}
BUSY_ARTERIAL = {  # a bright, wide, busy road, no crossing, thin sidewalk, people and shops around
    "brightness": 0.7,
    "person_presence": 0.04,
    "frac_person": 0.05,
    "frac_building": 0.3,
    "edge_density": 0.1,
    "green_view": 0.1,
    "colourfulness": 0.4,
    "frac_wall": 0.0,
    "frac_fence": 0.0,
    "sky_view": 0.35,
    "car_presence": 0.16,
    "frac_car": 0.15,
    "frac_truck": 0.05,
    "road_share": 0.36,
    "sidewalk_share": 0.08,
    "frac_traffic_light": 0.0,
    "frac_traffic_sign": 0.0,
}
CALM_BRIGHT = {  # bright, people about, open, green, narrow quiet street with sidewalks and signals
    "brightness": 0.75,
    "person_presence": 0.04,
    "frac_person": 0.06,
    "frac_building": 0.35,
    "edge_density": 0.08,
    "green_view": 0.3,
    "colourfulness": 0.5,
    "frac_wall": 0.0,
    "frac_fence": 0.0,
    "sky_view": 0.3,
    "car_presence": 0.01,
    "frac_car": 0.01,
    "road_share": 0.12,
    "sidewalk_share": 0.2,
    "frac_traffic_light": 0.006,
    "frac_traffic_sign": 0.01,
}


@pytest.fixture
def setup(city_factory):
    root = city_factory(n=1)
    from perceptops.describe.prompts import load_knowledge

    return root, load_params(root / "params.yaml"), load_knowledge(root)


def say(setup, target, scene, params=None):
    root, p, k = setup
    return describe_scene(plan_for(params or p, target, k, root), k, scene)


def rating_in_text(text: str) -> int:
    return int(re.search(r"\((\d+)/10\)", text).group(1))


@pytest.mark.parametrize("scene", [DARK_ISOLATED, BUSY_ARTERIAL, CALM_BRIGHT])
def test_text_states_the_rating_in_words(setup, scene):
    for t in ["general", *setup[1].target_names()]:
        a = say(setup, t, scene)
        assert 1 <= a["safety"] <= 10 and rating_in_text(a["description"]) == a["safety"]
        assert f"feels {verdict(a['safety'])} ({a['safety']}/10)" in a["description"]
        assert a["factors"] and all(isinstance(f, str) for f in a["factors"])
        assert say(setup, t, scene) == a  # deterministic


def test_dark_isolated_street_weighs_more_for_a_woman_alone(setup):
    women, men, gen = (say(setup, t, DARK_ISOLATED) for t in ("women-crime", "men-crime", "general"))
    assert women["safety"] < men["safety"] and women["safety"] <= 3
    assert women["safety"] < gen["safety"]
    assert "unsafe" in women["description"] and "a woman walking alone" in women["description"]
    assert "darkness" in women["factors"] and "isolation" in women["factors"]
    assert women["description"] != gen["description"]


def test_busy_wide_road_weighs_more_for_the_elderly(setup):
    old, mid = say(setup, "elderly-traffic", BUSY_ARTERIAL), say(setup, "middle-aged-traffic", BUSY_ARTERIAL)
    assert old["safety"] < mid["safety"] and old["safety"] <= 4 and "unsafe" in old["description"]
    assert {"heavy traffic", "wide road"} <= set(old["factors"])
    assert "wide and takes long to cross" in old["description"]
    # the same street is not a crime worry: people about, bright -> the crime texts rate it higher
    assert say(setup, "elderly-crime", BUSY_ARTERIAL)["safety"] > old["safety"]


def test_groups_agree_with_general_where_emphasis_does_not_change_the_verdict(setup):
    gen = say(setup, "general", CALM_BRIGHT)["safety"]
    assert gen >= 7
    for t in setup[1].target_names():
        assert say(setup, t, CALM_BRIGHT)["safety"] >= 7, t


def test_emphasis_comes_from_persona_and_risk_words_not_names(setup, city_factory):
    base = say(setup, "women-crime", DARK_ISOLATED)
    p = setup[1]
    renamed = city_factory(
        n=1,
        params={
            "groups!": {"grp_a": {"persona": p.groups["women"].persona}},
            "scenarios!": {"s1": {"risk": p.scenarios["crime"].risk}},
        },
    )
    p2 = load_params(renamed / "params.yaml")
    other = say((renamed, p2, setup[2]), "grp_a-s1", DARK_ISOLATED)
    assert other["safety"] == base["safety"] and other["factors"] == base["factors"]
    # same key, different words: a traffic risk under the name "crime" uses the traffic knowledge
    swapped = city_factory(n=1, params={"scenarios": {"crime": {"risk": p.scenarios["traffic"].risk}}})
    p3 = load_params(swapped / "params.yaml")
    a = say((swapped, p3, setup[2]), "elderly-crime", BUSY_ARTERIAL)
    assert a == say(setup, "elderly-traffic", BUSY_ARTERIAL)


def test_plan_matches_words(setup):
    root, p, k = setup
    assert plan_for(p, "women-crime", k, root).scenario_weights["crime"] == 1.0
    assert plan_for(p, "elderly-traffic", k, root).scenario_weights["traffic"] == 1.0
    assert "elderly" in plan_for(p, "elderly-traffic", k, root).persona_rules
    assert "woman" in plan_for(p, "women-crime", k, root).persona_rules
    assert "man" not in plan_for(p, "women-crime", k, root).persona_rules  # 'woman' is not 'man'
    g = plan_for(p, "general", k, root)
    assert g.persona_rules == [] and g.offset == 0 and set(g.scenario_weights.values()) == {0.5}


def test_unrecognised_risk_uses_all_factors(setup, city_factory):
    root = city_factory(n=1, params={"scenarios!": {"falls": {"risk": "slipping on ice"}}})
    p = load_params(root / "params.yaml")
    plan = plan_for(p, "women-falls", setup[2], root)
    assert not plan.recognised and set(plan.scenario_weights.values()) == {0.5}


def test_describe_package_never_reads_the_simulator():
    src = Path(__file__).resolve().parents[2] / "src" / "perceptops" / "describe"
    for f in src.glob("*.py"):
        assert "simulate" not in f.read_text(), f
