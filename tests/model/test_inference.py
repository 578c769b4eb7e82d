from __future__ import annotations

import numpy as np
import pytest
from modeltest_support import small_params
from PIL import Image

from perceptops.errors import ConfigError, DataError
from perceptops.model.inference import Scorer
from perceptops.model.io import load_model


class CountingEncoder:
    """A deterministic encoder with the perceptops.encode interface (.id, .dim, .encode) that counts items."""

    def __init__(self, id: str, dim: int, kind: str):
        self.id, self.dim, self.kind, self.items = id, dim, kind, 0

    def encode(self, items):
        self.items += len(items)
        out = []
        for x in items:
            if self.kind == "image":
                v = np.asarray(x, np.float32).mean(axis=(0, 1))
                out.append(np.resize(v, self.dim) / 255.0)
            else:
                out.append(
                    np.resize(np.frombuffer(x.encode().ljust(self.dim, b" ")[: self.dim], np.uint8), self.dim)
                    / 255.0
                )
        return np.asarray(out, np.float32).reshape(len(items), self.dim)


def _models(trained):
    layout = trained[0]
    return {"general": load_model(layout.general_model_dir())}


def test_scores_images_and_texts_end_to_end(trained):
    img_enc, txt_enc = (
        CountingEncoder("builtin-pixels-v1", 16, "image"),
        CountingEncoder("builtin-hash-v1", 12, "text"),
    )
    general = _models(trained)["general"]
    scorer = Scorer(small_params(), {"general": general, "again": general}, img_enc, txt_enc)
    images = [Image.new("RGB", (8, 8), (k * 40, 10, 200 - k * 30)) for k in range(4)]
    texts = [f"a street {k}" for k in range(4)]
    out = scorer.score(images, {"general": texts, "again": texts})
    assert set(out) == {"general", "again"} and out["general"].shape == (4,)
    assert ((out["general"] >= 0) & (out["general"] <= 10)).all()
    np.testing.assert_array_equal(out["general"], out["again"])
    expected = general.score(img_enc.encode(images), txt_enc.encode(texts))
    np.testing.assert_allclose(out["general"], expected, rtol=1e-6)
    # each image and each distinct text encoded once per call, however many models score them
    assert img_enc.items == 4 + 4 and txt_enc.items == 4 + 4


def test_refuses_models_from_other_encoders(trained):
    scorer = Scorer(
        small_params(),
        _models(trained),
        CountingEncoder("hf:vit", 16, "image"),
        CountingEncoder("builtin-hash-v1", 12, "text"),
    )
    with pytest.raises(ConfigError, match="builtin-pixels-v1.*hf:vit"):
        scorer.score([Image.new("RGB", (4, 4))], ["x"])


def test_bad_calls(trained):
    scorer = Scorer(
        small_params(),
        _models(trained),
        CountingEncoder("builtin-pixels-v1", 16, "image"),
        CountingEncoder("builtin-hash-v1", 12, "text"),
    )
    with pytest.raises(DataError, match="2 images but 1 descriptions"):
        scorer.score([Image.new("RGB", (4, 4))] * 2, ["x"])
    with pytest.raises(ConfigError, match="unknown model"):
        scorer.score([Image.new("RGB", (4, 4))], ["x"], models=["women-crime"])
    with pytest.raises(ConfigError, match="at least one model"):
        Scorer(small_params(), {})


def test_lazily_creates_the_configured_builtin_encoders(tmp_path):
    """With no encoders passed, Scorer builds perceptops.encode's (params.encode) on first use."""
    import torch

    from perceptops.encode import get_image_encoder, get_text_encoder
    from perceptops.model.io import save_model
    from perceptops.model.net import build_from_config

    params = small_params()
    img, txt = get_image_encoder(params), get_text_encoder(params)
    cfg = {
        "adapter_dim": 8,
        "dropout": 0.0,
        "fusion": "concat",
        "variant": "fusion",
        "encoders": {"image": {"id": img.id, "dim": img.dim}, "text": {"id": txt.id, "dim": txt.dim}},
    }
    torch.manual_seed(0)
    save_model(tmp_path, build_from_config(cfg), cfg)
    model = load_model(tmp_path)
    scorer = Scorer(params, {"general": model})
    images = [Image.new("RGB", (96, 64), (20 * k, 120, 40)) for k in range(3)]
    texts = ["dark empty street", "busy crossing", "green park path"]
    out = scorer.score(images, texts)["general"]
    np.testing.assert_allclose(out, model.score(img.encode(images), txt.encode(texts)), rtol=1e-6)
    assert scorer.image_encoder.id == img.id
