import numpy as np
import pytest

from perceptops.scene.photometric import hsv, photometric_stats


def img(a):
    return np.asarray(a, dtype=np.uint8)


def test_black_image_is_zero_everywhere():
    s = photometric_stats(np.zeros((64, 64, 3), np.uint8))
    assert s == {k: 0.0 for k in s}
    assert set(s) == {
        "brightness",
        "contrast",
        "colourfulness",
        "saturation",
        "sharpness",
        "edge_density",
        "entropy",
    }


def test_white_image_brightness_one_no_contrast():
    s = photometric_stats(np.full((32, 48, 3), 255, np.uint8))
    assert s["brightness"] == pytest.approx(1.0)
    assert s["contrast"] == pytest.approx(0.0)
    assert s["saturation"] == 0.0
    assert s["entropy"] == 0.0


def test_half_black_half_white():
    a = np.zeros((64, 64, 3), np.uint8)
    a[:, 32:] = 255
    s = photometric_stats(a)
    assert s["brightness"] == pytest.approx(0.5)
    assert s["contrast"] == pytest.approx(0.5)
    assert s["entropy"] == pytest.approx(1.0)
    # the edge is 2 columns wide (Sobel spans 3 pixels) out of 64
    assert s["edge_density"] == pytest.approx(2 / 64)
    assert s["sharpness"] > 0
    assert s["colourfulness"] == pytest.approx(0.0)


def test_pure_red_colourfulness_and_saturation():
    s = photometric_stats(np.tile(img([255, 0, 0]), (16, 16, 1)))
    # Hasler-Suesstrunk: rg = 255, yb = 127.5, no spread -> 0.3 * hypot(255, 127.5)
    assert s["colourfulness"] == pytest.approx(0.3 * np.hypot(255, 127.5))
    assert s["saturation"] == pytest.approx(1.0)


def test_noise_is_sharper_than_blur():
    rng = np.random.default_rng(0)
    noisy = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    smooth = np.repeat(np.linspace(0, 255, 64, dtype=np.uint8)[None, :, None], 64, 0).repeat(3, 2)
    assert photometric_stats(noisy)["sharpness"] > 100 * photometric_stats(smooth)["sharpness"]


def test_hsv_matches_colorsys():
    import colorsys

    rng = np.random.default_rng(1)
    px = rng.integers(0, 256, (50, 3), dtype=np.uint8)
    h, s, v = hsv(px[None])
    for i, (r, g, b) in enumerate(px):
        eh, es, ev = colorsys.rgb_to_hsv(r / 255, g / 255, b / 255)
        assert h[0, i] == pytest.approx((eh * 360) % 360, abs=1e-3)
        assert s[0, i] == pytest.approx(es, abs=1e-5)
        assert v[0, i] == pytest.approx(ev, abs=1e-6)
