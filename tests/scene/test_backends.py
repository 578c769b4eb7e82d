"""Model backends: TFLite DeepLab on the Cityscapes frame, a tiny SegFormer round trip."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from scene_support import params_with, street

from perceptops.errors import BackendError
from perceptops.scene import CITYSCAPES_CLASSES, parse_images
from perceptops.scene.backends import TFLiteBackend, cityscapes_mapping


def test_tflite_agrees_with_the_reference_mask(shared: Path, deeplab: Path):
    frame = Image.open(shared / "models" / "coral" / "cityscapes_segmentation.bmp")
    mask = np.asarray(Image.open(shared / "models" / "coral" / "cityscapes_segmentation_mask.bmp"))
    backend = TFLiteBackend(str(deeplab))
    (labels,) = backend.label_maps([frame])
    assert labels.shape == mask.shape
    agreement = float((labels == mask).mean())
    assert 0.88 <= agreement < 1.0, agreement  # the model card says about 0.92
    assert backend.id.startswith("tflite:deeplab_mobilenet_edgetpu_slim_cityscapes_quant.tflite:")


def test_tflite_parse_of_the_frame(shared: Path, deeplab: Path):
    frame = Image.open(shared / "models" / "coral" / "cityscapes_segmentation.bmp")
    df = parse_images(params_with(backend="tflite", model=str(deeplab), threads=2), [frame])
    # a road scene: road dominates, cars present, no sky in this frame's reference mask
    assert df.loc[0, "road_share"] > 0.4
    assert df.loc[0, "car_presence"] > 0.05
    assert df.loc[0, "backend"] == "tflite"


def test_cityscapes_mapping_by_name_and_by_order():
    m = cityscapes_mapping({0: "Sky", 1: "traffic light", 2: "ceiling"}, 3)
    assert m.tolist() == [10, 6, 255]
    assert cityscapes_mapping({i: f"LABEL_{i}" for i in range(19)}, 19).tolist() == list(range(19))
    with pytest.raises(BackendError, match=r"scene\.model"):
        cityscapes_mapping({i: f"LABEL_{i}" for i in range(5)}, 5)


@pytest.fixture(scope="module")
def tiny_segformer(tmp_path_factory) -> Path:
    import torch
    from transformers import SegformerConfig, SegformerForSemanticSegmentation, SegformerImageProcessor

    torch.manual_seed(0)
    cfg = SegformerConfig(
        num_channels=3,
        num_encoder_blocks=2,
        depths=[1, 1],
        sr_ratios=[2, 1],
        hidden_sizes=[8, 16],
        patch_sizes=[7, 3],
        strides=[4, 2],
        num_attention_heads=[1, 1],
        mlp_ratios=[2, 2],
        decoder_hidden_size=16,
        num_labels=19,
        id2label={i: c.replace("_", " ") for i, c in enumerate(CITYSCAPES_CLASSES)},
        label2id={c.replace("_", " "): i for i, c in enumerate(CITYSCAPES_CLASSES)},
    )
    d = tmp_path_factory.mktemp("segformer")
    SegformerForSemanticSegmentation(cfg).save_pretrained(d)
    SegformerImageProcessor(size={"height": 64, "width": 64}).save_pretrained(d)
    return d


def test_tiny_segformer_round_trip(tiny_segformer: Path):
    params = params_with(backend="transformers", model=str(tiny_segformer), batch_size=2)
    images = [street(), street(night=True), street(car=False)]
    df = parse_images(params, images)
    assert len(df) == 3
    fr = df[[f"frac_{c}" for c in CITYSCAPES_CLASSES]].sum(axis=1)
    assert np.allclose(fr, 1.0)
    assert (df["backend"] == "transformers").all()
    # deterministic: the same model gives the same answer
    assert df.equals(parse_images(params, images))


def test_segformer_id_follows_the_weights(tiny_segformer: Path, tmp_path: Path):
    import shutil

    import torch
    from transformers import SegformerForSemanticSegmentation

    from perceptops.scene.backends import TransformersBackend

    a = TransformersBackend(str(tiny_segformer))
    copy = tmp_path / "copy"
    shutil.copytree(tiny_segformer, copy)
    assert TransformersBackend(str(copy)).id == a.id  # same bytes, same id wherever they live
    m = SegformerForSemanticSegmentation.from_pretrained(copy)
    with torch.no_grad():
        next(m.parameters()).add_(1.0)
    m.save_pretrained(copy)
    assert TransformersBackend(str(copy)).id != a.id


def test_tflite_worker_pool_matches_single_process(deeplab: Path):
    images = [street(), street(night=True), street(person=True)]
    single = TFLiteBackend(str(deeplab), threads=1)
    pooled = TFLiteBackend(str(deeplab), threads=2)
    try:
        a, b = single.label_maps(images), pooled.label_maps(images)
        assert pooled._pool is not None  # the images really went to worker processes
    finally:
        pooled.close()
        single.close()
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
