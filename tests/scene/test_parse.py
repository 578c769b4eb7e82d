"""parse_images columns and indices, the per-image cache, backend errors."""

import numpy as np
import pytest
from scene_support import params_with, street

from perceptops.errors import BackendError
from perceptops.scene import CITYSCAPES_CLASSES, SCENE_COLUMNS, parse_images
from perceptops.scene.parse import SceneParser, scene_row

C = {c: i for i, c in enumerate(CITYSCAPES_CLASSES)}


def test_columns_and_fractions_sum_to_one(street_image):
    df = parse_images(params_with(backend="pixel"), [street_image, street(night=True)])
    assert list(df.columns) == list(SCENE_COLUMNS)
    assert len(df) == 2
    fr = df[[f"frac_{c}" for c in CITYSCAPES_CLASSES]].sum(axis=1)
    assert np.allclose(fr, 1.0)
    assert (df["backend"] == "pixel").all()
    assert df.loc[0, "brightness"] > df.loc[1, "brightness"]
    assert df.loc[0, "car_presence"] > 0
    assert df.loc[0, "green_view"] == pytest.approx(df.loc[0, "frac_vegetation"])


def test_indices_from_a_known_label_map():
    lab = np.full((10, 10), C["building"], np.uint8)
    lab[:5, :5] = C["sky"]  # half of the upper half
    lab[5:, :] = C["road"]
    lab[9, 0] = C["car"]
    lab[9, 1] = C["bus"]
    lab[9, 2] = C["bicycle"]
    lab[8, 0] = C["person"]
    lab[8, 1] = C["rider"]
    lab[0, 9] = C["vegetation"]
    lab[1, 9] = C["terrain"]
    lab[7, 0] = 255  # a label outside Cityscapes: in the denominator only
    row = scene_row(lab, np.zeros((10, 10, 3), np.uint8), "test")
    assert row["sky_view"] == pytest.approx(0.5)
    assert row["frac_sky"] == pytest.approx(0.25)
    assert row["car_presence"] == pytest.approx(0.03)
    assert row["person_presence"] == pytest.approx(0.02)
    assert row["green_view"] == pytest.approx(0.02)
    assert row["road_share"] == pytest.approx(0.50 - 0.06)
    assert sum(row[f"frac_{c}"] for c in CITYSCAPES_CLASSES) == pytest.approx(0.99)


def test_cache_second_parse_does_no_forwards(tmp_path, street_image):
    params = params_with(backend="pixel")
    images = [street_image, street(night=True), street(car=False)]
    p1 = SceneParser(params, cache_dir=tmp_path / "scene")
    first = p1.parse(images)
    p1.close()
    assert (p1.forwards, p1.cache_hits) == (3, 0)
    p2 = SceneParser(params, cache_dir=tmp_path / "scene")
    second = p2.parse(images + [street_image])  # a duplicate is parsed once
    p2.close()
    assert (p2.forwards, p2.cache_hits) == (0, 3)
    assert second.iloc[:3].equals(first)
    assert second.iloc[3].equals(first.iloc[0].rename(3))


def test_duplicates_in_one_call_are_parsed_once(tmp_path, street_image):
    p = SceneParser(params_with(backend="pixel"), cache_dir=tmp_path)
    df = p.parse([street_image, street_image.copy()])
    p.close()
    assert p.forwards == 1
    assert df.iloc[0].tolist() == df.iloc[1].tolist()


def test_cache_is_keyed_by_backend(tmp_path, street_image, deeplab):
    for backend, model in (("pixel", None), ("tflite", str(deeplab))):
        p = SceneParser(params_with(backend=backend, model=model), cache_dir=tmp_path)
        df = p.parse([street_image])
        p.close()
        assert p.forwards == 1, backend
        assert df.loc[0, "backend"] == backend


def test_unknown_tflite_path_names_the_setting(tmp_path):
    with pytest.raises(BackendError, match=r"scene\.model"):
        SceneParser(params_with(backend="tflite", model=str(tmp_path / "nope.tflite")))


def test_not_a_tflite_file(tmp_path):
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(b"not a flatbuffer")
    with pytest.raises(BackendError, match=r"scene\.model"):
        SceneParser(params_with(backend="tflite", model=str(bad)))


def test_missing_transformers_model_folder(tmp_path):
    with pytest.raises(BackendError, match=r"scene\.model"):
        SceneParser(params_with(backend="transformers", model=str(tmp_path / "absent")))


def test_transformers_needs_a_model():
    with pytest.raises(BackendError, match=r"scene\.model is required"):
        SceneParser(params_with(backend="transformers", model=None))


def test_parse_images_loads_the_backend_once_per_setting(monkeypatch, street_image):
    import perceptops.scene.backends as backends

    calls = []
    real = backends.get_backend
    monkeypatch.setattr(backends, "get_backend", lambda sp: calls.append(sp) or real(sp))
    params = params_with(backend="pixel", batch_size=5)  # a setting no other test uses
    a = parse_images(params, [street_image])
    b = parse_images(params, [street_image])
    assert len(calls) == 1 and a.equals(b)
    parse_images(params_with(backend="pixel", batch_size=6), [street_image])
    assert len(calls) == 2


def test_missing_packages_are_one_backend_error(monkeypatch, tmp_path, deeplab):
    import sys

    monkeypatch.setitem(sys.modules, "ai_edge_litert.interpreter", None)
    with pytest.raises(BackendError, match=r"scene\.backend 'tflite' needs the ai-edge-litert"):
        SceneParser(params_with(backend="tflite", model=str(deeplab)))
    (tmp_path / "seg").mkdir()
    monkeypatch.setitem(sys.modules, "transformers", None)
    with pytest.raises(BackendError, match=r"scene\.backend 'transformers' needs torch and transformers"):
        SceneParser(params_with(backend="transformers", model=str(tmp_path / "seg")))
