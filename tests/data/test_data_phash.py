"""Perceptual hashes: re-encodings stay close, different scenes stay far."""

from __future__ import annotations

import io

from PIL import Image
from svi_fixtures import jpeg_bytes, noise_image

from perceptops.data.phash import dhash, hamming, near_duplicates, phash


def reload(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data)).convert("RGB")


def test_hash_format_and_hamming():
    h = phash(noise_image(1))
    assert len(h) == 16 and int(h, 16) >= 0
    assert hamming(h, h) == 0
    assert hamming("0000000000000000", "ffffffffffffffff") == 64
    assert hamming("0000000000000001", "0000000000000003") == 1


def test_reencoded_and_resized_copies_are_near():
    base = noise_image(7, size=(160, 120))
    for fn in (phash, dhash):
        h = fn(base)
        assert hamming(h, fn(reload(jpeg_bytes(base, quality=60)))) <= 4
        assert hamming(h, fn(base.resize((120, 90)))) <= 6


def test_different_images_are_far():
    hs = [phash(noise_image(s)) for s in range(10)]
    dists = [hamming(a, b) for i, a in enumerate(hs) for b in hs[i + 1 :]]
    assert min(dists) > 8


def test_near_duplicates_points_at_the_first_copy():
    a, b = noise_image(1), noise_image(2)
    hs = [phash(a), phash(b), phash(reload(jpeg_bytes(a, 60))), phash(reload(jpeg_bytes(b, 60)))]
    assert near_duplicates(hs, 4) == [None, None, 0, 1]
    assert near_duplicates(hs, 0)[:2] == [None, None]
    assert near_duplicates([], 4) == [] and near_duplicates(hs[:1], 4) == [None]
