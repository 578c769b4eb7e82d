"""Fixtures for the scene tests (helpers live in scene_support.py: unique module name across tests/)."""

from __future__ import annotations

import sys
from pathlib import Path

# --import-mode=importlib puts no test folder on sys.path: make this folder's helper module importable.
sys.path.insert(0, str(Path(__file__).resolve().parent))

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
