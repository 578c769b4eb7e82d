from __future__ import annotations

import numpy as np
import pytest
import torch

from perceptops.errors import ConfigError, DataError
from perceptops.model.io import load_model, save_model
from perceptops.model.net import build_from_config

CONFIG = {
    "adapter_dim": 8,
    "dropout": 0.1,
    "fusion": "concat",
    "variant": "fusion",
    "encoders": {"image": {"id": "vit-a", "dim": 6}, "text": {"id": "bert-b", "dim": 5}},
}


def _saved(tmp_path):
    torch.manual_seed(0)
    net = build_from_config(CONFIG)
    save_model(tmp_path, net, CONFIG)
    return net


def test_round_trip_scores_match(tmp_path):
    net = _saved(tmp_path)
    m = load_model(tmp_path)
    xi, xt = np.random.default_rng(0).normal(size=(4, 6)), np.random.default_rng(1).normal(size=(4, 5))
    with torch.no_grad():
        p = torch.softmax(
            net.eval()(torch.tensor(xi, dtype=torch.float32), torch.tensor(xt, dtype=torch.float32)), 1
        )
    s = m.score(xi, xt)
    assert s.shape == (4,) and ((s >= 0) & (s <= 10)).all()
    np.testing.assert_allclose(s, 10 * p[:, 1].numpy(), rtol=1e-6)
    assert m.config == CONFIG


def test_changed_encoder_is_refused_naming_both_ids(tmp_path):
    _saved(tmp_path)
    with pytest.raises(ConfigError) as err:
        load_model(tmp_path, encoders={"image": {"id": "clip-c"}, "text": {"id": "bert-b"}})
    assert "vit-a" in str(err.value) and "clip-c" in str(err.value) and "encode.image" in str(err.value)
    with pytest.raises(ConfigError, match="bert-b.*bert-z"):
        load_model(tmp_path).check_encoders(text_id="bert-z")
    load_model(tmp_path, encoders={"image": {"id": "vit-a"}, "text": {"id": "bert-b"}})  # same ids: fine


def test_score_rejects_bad_embeddings(tmp_path):
    _saved(tmp_path)
    m = load_model(tmp_path)
    with pytest.raises(DataError, match="width 6"):
        m.score(np.zeros((2, 7)), np.zeros((2, 5)))
    bad = np.zeros((2, 5))
    bad[1, 2] = np.nan
    with pytest.raises(DataError, match="NaN"):
        m.score(np.zeros((2, 6)), bad)
    with pytest.raises(DataError, match="2 image embeddings but 3"):
        m.score(np.zeros((2, 6)), np.zeros((3, 5)))


def test_missing_model_dir(tmp_path):
    with pytest.raises(DataError, match="model.pt"):
        load_model(tmp_path / "nope")
