"""Per-image checks: each bad input of issue 3 gets a verdict; accepted modes come out RGB."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageFile
from svi_fixtures import jpeg_bytes, noise_image, png_bytes, png_header_only

from perceptops.data import images
from perceptops.data.images import ImageRejected, decode_rgb, load_rgb, read_header
from perceptops.errors import DataError

MAX = 40_000_000


def reject(data: bytes, **kw) -> ImageRejected:
    with pytest.raises(ImageRejected) as info:
        decode_rgb(data, kw.pop("max_pixels", MAX), **kw)
    return info.value


def test_rejected_is_a_data_error():
    assert issubclass(ImageRejected, DataError)


def test_zero_byte_file():
    assert reject(b"").reason == images.EMPTY


def test_text_named_jpg(tmp_path):
    p = tmp_path / "notes.jpg"
    p.write_text("hello, not a JPEG")
    with pytest.raises(ImageRejected) as info:
        load_rgb(p)
    assert info.value.reason == images.UNDECODABLE


def test_truncated_jpeg():
    full = jpeg_bytes(noise_image(1))
    assert reject(full[: len(full) * 2 // 3]).reason == images.TRUNCATED


def test_png_named_jpg_is_accepted(tmp_path):
    p = tmp_path / "photo.jpg"
    p.write_bytes(png_bytes(noise_image(2)))
    im = load_rgb(p)
    assert im.mode == "RGB" and im.size == (96, 80)
    assert read_header(p.read_bytes(), MAX).format == "PNG"


def test_cmyk_jpeg_becomes_rgb():
    buf = io.BytesIO()
    noise_image(3).convert("CMYK").save(buf, "JPEG")
    im, mode = decode_rgb(buf.getvalue(), MAX)
    assert mode == "CMYK" and im.mode == "RGB"


def test_16bit_grey_is_rescaled_not_clipped():
    ramp = np.linspace(0, 65535, 96 * 80).reshape(80, 96).astype(np.uint16)
    im, mode = decode_rgb(png_bytes(Image.fromarray(ramp)), MAX)
    a = np.asarray(im)
    assert mode.startswith("I") and im.mode == "RGB"
    # Clipping 16-bit values at 255 would make almost everything white; rescaling keeps the ramp.
    assert a.min() == 0 and a.max() == 255 and 100 < a.mean() < 155


@pytest.mark.parametrize("mode", ["L", "P", "RGBA", "LA", "1"])
def test_other_modes_become_rgb(mode):
    im, orig = decode_rgb(png_bytes(noise_image(4).convert(mode)), MAX)
    assert orig == mode and im.mode == "RGB" and im.size == (96, 80)


def test_transparent_pixels_become_white():
    rgba = Image.new("RGBA", (80, 80), (10, 20, 30, 0))
    im, _ = decode_rgb(png_bytes(rgba), MAX)
    assert im.getpixel((5, 5)) == (255, 255, 255)


def test_one_pixel_image_is_too_small():
    err = reject(png_bytes(Image.new("RGB", (1, 1))), min_size=(64, 64))
    assert err.reason == images.TOO_SMALL and "1x1" in err.detail


@pytest.fixture
def no_decoding(monkeypatch):
    """Any attempt to decode pixel data fails the test."""
    calls = []

    def boom(self, *a, **k):
        calls.append(self)
        raise AssertionError("the decoder must not be called for an oversized header")

    monkeypatch.setattr(ImageFile.ImageFile, "load", boom)
    monkeypatch.setattr(Image.Image, "load", boom)
    return calls


def test_30000x30000_header_refused_without_decoding(no_decoding):
    data = png_header_only(30000, 30000)
    assert len(data) < 200  # the whole "image" is a header: decoding it would need 2.7 GB
    err = reject(data)
    assert err.reason == images.TOO_LARGE
    assert no_decoding == []


def test_max_pixels_is_ours_not_pillows(no_decoding):
    # 5000x5000 is below Pillow's own bomb limit: only validate.max_pixels refuses it.
    err = reject(png_header_only(5000, 5000), max_pixels=1_000_000)
    assert err.reason == images.TOO_LARGE and "validate.max_pixels=1000000" in err.detail
    assert no_decoding == []


def test_unreadable_path(tmp_path):
    with pytest.raises(ImageRejected) as info:
        load_rgb(tmp_path / "missing.jpg")
    assert info.value.reason == images.UNREADABLE


def test_bomb_header_in_a_file_refused_without_decoding(tmp_path, no_decoding):
    p = tmp_path / "bomb.jpg"  # a PNG named .jpg, declaring 30000x30000, padded with junk
    p.write_bytes(png_header_only(30000, 30000) + b"\0" * 1_000_000)
    with pytest.raises(ImageRejected) as info:
        load_rgb(p)
    assert info.value.reason == images.TOO_LARGE and no_decoding == []


def test_zero_byte_file_on_disk(tmp_path):
    (tmp_path / "empty.png").write_bytes(b"")
    with pytest.raises(ImageRejected) as info:
        load_rgb(tmp_path / "empty.png")
    assert info.value.reason == images.EMPTY
