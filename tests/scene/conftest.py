"""Fixtures for the scene tests (helpers live in scene_support.py: unique module name across tests/)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image
from scene_support import street


@pytest.fixture
def street_image() -> Image.Image:
    return street()


@pytest.fixture(scope="session")
def deeplab(shared: Path) -> Path:
    p = shared / "models" / "coral" / "deeplab_mobilenet_edgetpu_slim_cityscapes_quant.tflite"
    if not p.is_file():
        pytest.skip(f"{p} absent")
    return p
