"""params.yaml is loaded into typed, frozen models; every mistake fails at once naming the key."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
from pydantic import ValidationError
from ruamel.yaml import YAML

from perceptops.config import Params, load_params, parse_params, target_name
from perceptops.errors import ConfigError
from support import REPO_ROOT


@pytest.fixture(scope="module")
def raw() -> dict:
    return YAML(typ="safe").load((REPO_ROOT / "params.yaml").read_text())


def bad(raw: dict, mutate) -> str:
    data = copy.deepcopy(raw)
    mutate(data)
    with pytest.raises(ConfigError) as exc:
        parse_params(data)
    return str(exc.value)


def test_shipped_params_load_and_are_frozen():
    p = load_params(REPO_ROOT / "params.yaml")
    assert isinstance(p, Params)
    assert set(p.groups) == {"women", "men", "elderly", "middle-aged"}
    assert set(p.scenarios) == {"traffic", "crime"}
    assert len(p.targets()) == 8
    assert "middle-aged-crime" in p.target_names()
    assert p.parse_target("middle-aged-crime") == ("middle-aged", "crime")
    with pytest.raises(ValidationError):
        p.train.lr = 1.0  # frozen


def test_typo_in_key_names_the_path(raw):
    msg = bad(raw, lambda d: d["train"].update(learning_rate=0.1))
    assert "train.learning_rate" in msg and "unknown key" in msg


def test_typo_at_top_level(raw):
    msg = bad(raw, lambda d: d.update(senarios=d["scenarios"]))
    assert "senarios" in msg


def test_wrong_literal_lists_allowed_values(raw):
    msg = bad(raw, lambda d: d["describe"].update(backend="gpt"))
    assert "describe.backend" in msg and "'scene'" in msg and "'openai'" in msg


def test_negative_size_names_the_key(raw):
    msg = bad(raw, lambda d: d["cities"]["demo"]["synthetic"].update(n_images=-5))
    assert "cities.demo.synthetic.n_images" in msg and "greater than 0" in msg


def test_wrong_type(raw):
    msg = bad(raw, lambda d: d["train"].update(batch_size="many"))
    assert "train.batch_size" in msg


def test_train_city_must_exist(raw):
    msg = bad(raw, lambda d: d.update(train_city="atlantis"))
    assert "atlantis" in msg and "demo" in msg


def test_bad_names_rejected(raw):
    msg = bad(raw, lambda d: d["groups"].update({"old people": {"persona": "x"}}))
    assert "old people" in msg
    msg = bad(raw, lambda d: d["cities"].update({"new/york": {"source": "synthetic"}}))
    assert "new/york" in msg


def test_source_needs_path(raw):
    msg = bad(raw, lambda d: d["cities"].update(boston={"source": "placepulse1"}))
    assert "cities.boston" in msg and "path" in msg


def test_split_must_sum_to_one(raw):
    msg = bad(raw, lambda d: d["train"].update(split=[0.5, 0.2, 0.2]))
    assert "train.split" in msg and "sum to 1" in msg


def test_unknown_group_lookup_lists_allowed(raw):
    p = parse_params(raw)
    with pytest.raises(ConfigError, match="allowed: women, men, elderly, middle-aged"):
        p.group("teenagers")
    with pytest.raises(ConfigError, match="unknown group-scenario"):
        p.parse_target("teenagers-crime")


def test_adding_a_group_is_config_only(raw):
    data = copy.deepcopy(raw)
    data["groups"]["teenagers"] = {"persona": "a teenager", "filter": {"age": {"max": 19}}}
    p = parse_params(data)
    assert target_name("teenagers", "crime") in p.target_names()
    assert len(p.targets()) == 10


def test_missing_params_file(tmp_path: Path):
    with pytest.raises(ConfigError, match="not found"):
        load_params(tmp_path / "params.yaml")


def test_invalid_yaml(tmp_path: Path):
    (tmp_path / "params.yaml").write_text("cities: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_params(tmp_path / "params.yaml")
