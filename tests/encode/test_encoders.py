"""Encoders: dims, determinism, ids that follow the model, tiny hf models, missing-model errors."""

import shutil
from pathlib import Path

import numpy as np
import pytest
from encode_support import params_with, picture

from perceptops.encode import get_image_encoder, get_text_encoder
from perceptops.encode.image import BuiltinImageEncoder, HFImageEncoder, TFLiteImageEncoder
from perceptops.encode.text import BuiltinTextEncoder, HFTextEncoder, tokens
from perceptops.errors import BackendError

IMAGES = [picture(i) for i in range(4)]
TEXTS = ["A busy road with many cars.", "quiet green park with trees", "dark street at night", ""]


def test_builtin_image_dim_norm_determinism():
    enc = get_image_encoder(params_with())
    assert isinstance(enc, BuiltinImageEncoder)
    X = enc.encode(IMAGES)
    assert X.shape == (4, enc.dim) and X.dtype == np.float32
    assert np.allclose(np.linalg.norm(X, axis=1), 1.0, atol=1e-5)
    assert np.array_equal(X, BuiltinImageEncoder().encode(IMAGES))
    assert enc.encode([]).shape == (0, enc.dim)


def test_builtin_image_separates_day_night_and_greenery():
    from PIL import Image

    def scene(sky, tree):
        a = np.zeros((72, 96, 3), np.uint8)
        a[:36], a[36:] = sky, (80, 80, 85)
        if tree:
            a[:50, :30] = (40, 140, 50)
        return Image.fromarray(a)

    day, night, green = BuiltinImageEncoder().encode(
        [scene((110, 160, 230), False), scene((15, 15, 25), False), scene((110, 160, 230), True)]
    )
    # the same layout at night or with a tree is a different point, clearly
    assert day @ night < 0.95
    assert day @ green < 0.99
    assert day @ green > day @ night  # a tree changes less than the whole lighting


def test_builtin_text_hashing():
    enc = get_text_encoder(params_with())
    assert isinstance(enc, BuiltinTextEncoder) and enc.dim == 2048
    X = enc.encode(TEXTS + ["a BUSY road, with many cars!"])
    assert X.shape == (5, 2048) and X.dtype == np.float32
    assert np.allclose(np.linalg.norm(X[:3], axis=1), 1.0, atol=1e-6)
    assert not X[3].any()  # empty text -> zero vector, not NaN
    assert X[0] @ X[4] == pytest.approx(1.0, abs=1e-6)  # case and punctuation do not matter
    assert abs(X[0] @ X[1]) < 0.3
    assert tokens("busy road now") == ["busy", "road", "now", "busy road", "road now"]


def test_builtin_text_sublinear_tf():
    from perceptops.encode.text import _slot

    enc = BuiltinTextEncoder(dim=4096)
    (many,) = enc.encode(["car car car car park"])
    slots = {t: _slot(t, 4096)[0] for t in ("car", "park", "car car", "car park")}
    assert len(set(slots.values())) == 4  # no collision among these four tokens
    # with raw counts 'car' would weigh 4x 'park'; sublinear tf: 1 + ln 4
    assert abs(many[slots["car"]] / many[slots["park"]]) == pytest.approx(1 + np.log(4), rel=1e-5)
    assert abs(many[slots["car car"]] / many[slots["park"]]) == pytest.approx(1 + np.log(3), rel=1e-5)


def test_ids_are_stable_and_distinct():
    assert BuiltinImageEncoder().id == BuiltinImageEncoder().id
    assert BuiltinTextEncoder().id != BuiltinTextEncoder(dim=1024).id


def test_tflite_image_encoder(mobilenet: Path, tmp_path: Path):
    enc = get_image_encoder(params_with(image={"kind": "tflite", "model": str(mobilenet)}))
    assert isinstance(enc, TFLiteImageEncoder) and enc.dim == 1024
    X = enc.encode(IMAGES[:2])
    assert X.shape == (2, 1024) and X.dtype == np.float32 and np.isfinite(X).all()
    assert not np.array_equal(X[0], X[1])
    assert np.array_equal(X, enc.encode(IMAGES[:2]))
    # the id follows the file's bytes, not its place
    copy = tmp_path / mobilenet.name
    shutil.copy(mobilenet, copy)
    assert TFLiteImageEncoder(str(copy)).id == enc.id


def test_missing_tflite_names_the_setting(tmp_path: Path):
    with pytest.raises(BackendError, match=r"encode\.image\.model"):
        get_image_encoder(params_with(image={"kind": "tflite", "model": str(tmp_path / "none.tflite")}))


def test_missing_hf_paths_name_the_setting(tmp_path: Path):
    with pytest.raises(BackendError, match=r"encode\.image\.model"):
        get_image_encoder(params_with(image={"kind": "hf", "model": str(tmp_path / "vit")}))
    with pytest.raises(BackendError, match=r"encode\.text\.model"):
        get_text_encoder(params_with(text={"kind": "hf", "model": str(tmp_path / "bert")}))


def test_unreachable_hub_name_is_one_backend_error(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(BackendError, match=r"encode\.text\.model"):
        HFTextEncoder("perceptops-test/no-such-model")


def test_hf_vit(tiny_vit: Path, tmp_path: Path):
    enc = get_image_encoder(params_with(image={"kind": "hf", "model": str(tiny_vit), "batch_size": 3}))
    assert isinstance(enc, HFImageEncoder) and enc.dim == 16
    X = enc.encode(IMAGES)
    assert X.shape == (4, 16) and X.dtype == np.float32
    assert np.allclose(X, enc.encode(IMAGES), atol=1e-6)
    assert enc.id.startswith("hf-image:vit:")
    # change the weights -> a new id
    import torch
    from transformers import ViTModel

    copy = tmp_path / "vit2"
    shutil.copytree(tiny_vit, copy)
    assert HFImageEncoder(str(copy)).id == enc.id
    m = ViTModel.from_pretrained(copy)
    with torch.no_grad():
        m.embeddings.cls_token.add_(1.0)
    m.save_pretrained(copy)
    assert HFImageEncoder(str(copy)).id != enc.id


def test_hf_bert_mean_pooling(tiny_bert: Path):
    import torch
    from transformers import AutoModel, AutoTokenizer

    enc = get_text_encoder(params_with(text={"kind": "hf", "model": str(tiny_bert), "batch_size": 2}))
    assert enc.dim == 16
    X = enc.encode(TEXTS)
    assert X.shape == (4, 16) and np.isfinite(X).all()
    # padding does not change a text's embedding: batch-of-one equals in-batch
    solo = enc.encode([TEXTS[0]])
    assert np.allclose(solo[0], X[0], atol=1e-5)
    # the mean over real tokens, computed by hand
    tok, model = AutoTokenizer.from_pretrained(tiny_bert), AutoModel.from_pretrained(tiny_bert)
    with torch.no_grad():
        h = model(**tok([TEXTS[2]], return_tensors="pt")).last_hidden_state[0]
    assert np.allclose(enc.encode([TEXTS[2]])[0], h.mean(0).numpy(), atol=1e-5)
    assert enc.id.startswith("hf-text:bert:")


def test_hf_clip_vision_and_text(tiny_clip: Path):
    img = get_image_encoder(params_with(image={"kind": "hf", "model": str(tiny_clip)}))
    txt = get_text_encoder(params_with(text={"kind": "hf", "model": str(tiny_clip)}))
    assert (img.dim, txt.dim) == (12, 16)
    X, T = img.encode(IMAGES[:2]), txt.encode(TEXTS[:3])
    assert X.shape == (2, 12) and T.shape == (3, 16)
    assert np.isfinite(X).all() and np.isfinite(T).all()
    assert img.id.startswith("hf-image:clip:") and txt.id.startswith("hf-text:clip:")
    assert not np.allclose(T[0], T[1])


def test_missing_packages_are_one_backend_error(monkeypatch, tmp_path: Path):
    import sys

    (tmp_path / "m.tflite").write_bytes(b"x")
    monkeypatch.setitem(sys.modules, "ai_edge_litert.interpreter", None)  # import -> ImportError
    with pytest.raises(BackendError, match=r"encode\.image\.kind 'tflite' needs the ai-edge-litert"):
        TFLiteImageEncoder(str(tmp_path / "m.tflite"))
    (tmp_path / "hf").mkdir()
    monkeypatch.setitem(sys.modules, "transformers", None)
    with pytest.raises(BackendError, match=r"encode\.image\.kind 'hf' needs torch and transformers"):
        HFImageEncoder(str(tmp_path / "hf"))
    with pytest.raises(BackendError, match=r"encode\.text\.kind 'hf' needs torch and transformers"):
        HFTextEncoder(str(tmp_path / "hf"))
