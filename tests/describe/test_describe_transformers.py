"""The transformers backend with a tiny LLaVA built from configs and saved locally (real loading code)."""

from __future__ import annotations

import pandas as pd
import pytest

from perceptops.config import load_params
from perceptops.describe.run import describe_city
from perceptops.errors import BackendError, ConfigError, DataError
from perceptops.paths import Layout

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory):
    from tiny_vlm import build_tiny_llava

    d = tmp_path_factory.mktemp("vlm")
    return build_tiny_llava(d / "answers"), build_tiny_llava(d / "random", answer_token=False)


def params_for(model, **over):
    return {
        "describe": {
            "backend": "transformers",
            "max_attempts": 2,
            "transformers": {"model": str(model), "batch_size": 2, "max_new_tokens": 4, **over},
        }
    }


def test_tiny_llava_describes_in_batches(city_factory, tiny_models):
    root = city_factory(n=3, params=params_for(tiny_models[0]))
    p, layout = load_params(root / "params.yaml"), Layout(root)
    m = describe_city(p, layout, "c", only="women-crime", progress=False)["women-crime"]
    assert m["described"] == 3 and m["failed"] == 0
    assert m["calls"] == 4  # 1 rating-scale turn + 3 images (batches of 2 and 1)
    df = pd.read_parquet(layout.descriptions("c", "women-crime"))
    assert df["rating"].eq(7).all() and df["backend"].eq("transformers").all()
    assert df["model"].eq(str(tiny_models[0])).all() and df["text"].str.contains("quite safe").all()
    m2 = describe_city(p, layout, "c", only="women-crime", progress=False)["women-crime"]
    assert m2["calls"] == 0 and m2["cached"] == 3


def test_unusable_answers_are_repaired_then_recorded(city_factory, tiny_models):
    root = city_factory(n=2, params=params_for(tiny_models[1]))
    p, layout = load_params(root / "params.yaml"), Layout(root)
    with pytest.raises(DataError, match="nothing was described for general"):
        describe_city(p, layout, "c", only="general", progress=False)
    fail = pd.read_csv(root / "descriptions" / "c" / "failures.csv")
    assert len(fail) == 2 and fail["error"].str.startswith("unusable answer").all()
    assert fail["attempts"].eq(2).all()  # max_attempts answer + repair turns


def test_missing_or_bad_model_setting(city_factory, tmp_path):
    root = city_factory(n=1, params={"describe": {"backend": "transformers"}})
    with pytest.raises(ConfigError, match="describe.transformers.model is not set"):
        describe_city(load_params(root / "params.yaml"), Layout(root), "c", progress=False)
    (tmp_path / "empty").mkdir()
    root = city_factory(n=1, params=params_for(tmp_path / "empty"))
    with pytest.raises(BackendError, match="describe.transformers.model"):
        describe_city(load_params(root / "params.yaml"), Layout(root), "c", progress=False)
