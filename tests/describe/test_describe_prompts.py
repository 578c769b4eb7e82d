"""Versioned prompt templates: the scenario's risk text really reaches the prompt; hashes identify them."""

from __future__ import annotations

import shutil

import pytest

from perceptops.config import load_params
from perceptops.describe.prompts import build_prompt, short_risk
from perceptops.errors import ConfigError


@pytest.fixture
def proj(city_factory):
    root = city_factory(n=1)
    return root, load_params(root / "params.yaml")


def test_crime_prompt_carries_crime_risk_not_traffic(proj):
    root, p = proj
    crime, traffic = p.scenarios["crime"].risk, p.scenarios["traffic"].risk
    pr = build_prompt(p, "women-crime", root=root)
    text = pr.scale_request + pr.evaluate
    assert crime in pr.scale_request and crime in pr.evaluate
    assert traffic not in text
    assert p.groups["women"].persona in pr.scale_request and p.groups["women"].persona in pr.evaluate
    assert p.scenarios["crime"].question in pr.evaluate
    pt = build_prompt(p, "women-traffic", root=root)
    assert traffic in pt.evaluate and crime not in pt.scale_request + pt.evaluate
    assert pr.hash != pt.hash


def test_general_prompt_and_multi_turn_messages(proj):
    root, p = proj
    g = build_prompt(p, "general", root=root)
    assert "average adult pedestrian" in g.scale_request
    msgs = g.messages("SCALE", "data:image/jpeg;base64,AAAA")
    assert [m["role"] for m in msgs] == ["system", "user", "assistant", "user"]
    assert msgs[1]["content"] == g.scale_request and msgs[2]["content"] == "SCALE"
    assert msgs[3]["content"][0] == {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,AAAA"}}
    assert '"safety"' in msgs[3]["content"][1]["text"]  # asks for the JSON answer
    assert "'safety' is 11" in g.repair("'safety' is 11")


def test_hash_is_stable_and_follows_text_and_version(proj, city_factory):
    root, p = proj
    assert build_prompt(p, "men-crime", root=root).hash == build_prompt(p, "men-crime", root=root).hash
    # a persona edit changes only that group's prompts
    other = city_factory(n=1, params={"groups": {"men": {"persona": "a man walking his dog"}}})
    p2 = load_params(other / "params.yaml")
    assert build_prompt(p2, "men-crime", root=other).hash != build_prompt(p, "men-crime", root=root).hash
    assert build_prompt(p2, "women-crime", root=other).hash == build_prompt(p, "women-crime", root=root).hash
    # a copied template folder under a new version name gives a new hash (the version is hashed too)
    shutil.copytree(root / "prompts" / "v1", root / "prompts" / "v2")
    p3 = load_params(root / "params.yaml").model_copy(
        update={"describe": p.describe.model_copy(update={"prompt_version": "v2"})}
    )
    assert build_prompt(p3, "men-crime", root=root).hash != build_prompt(p, "men-crime", root=root).hash


def test_unknown_version_and_target_are_config_errors(proj):
    root, p = proj
    bad = p.model_copy(update={"describe": p.describe.model_copy(update={"prompt_version": "v9"})})
    with pytest.raises(ConfigError, match="describe.prompt_version 'v9'.*available: v1"):
        build_prompt(bad, "general", root=root)
    with pytest.raises(ConfigError, match="unknown group-scenario 'kids-crime'"):
        build_prompt(p, "kids-crime", root=root)
    (root / "prompts" / "v1" / "repair.md").unlink()
    from perceptops.describe import prompts

    prompts._templates.cache_clear()
    with pytest.raises(ConfigError, match="repair.md is missing"):
        build_prompt(p, "general", root=root)
    prompts._templates.cache_clear()


def test_short_risk():
    assert short_risk("traffic accidents - being hit by a car") == "traffic accidents"
    assert short_risk("crime: robbery") == "crime"
    assert short_risk("falling") == "falling"
