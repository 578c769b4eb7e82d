"""Helpers of the data-layer tests: params, generated images, the corrupt-file corpus, a simulate stand-in.

(Not named conftest: tests/data/simulate has its own conftest, and `from conftest import` would be ambiguous.)
"""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from perceptops.config import parse_params

GROUPS = {
    "women": {"persona": "a woman", "filter": {"gender": "female"}},
    "men": {"persona": "a man", "filter": {"gender": "male"}},
    "elderly": {"persona": "an elderly person", "filter": {"age": {"min": 65}}},
}
SCENARIOS = {"traffic": {"risk": "traffic accidents"}, "crime": {"risk": "crime"}}


def make_params(cities: dict[str, Any], **sections: Any):
    data = {"cities": cities, "groups": GROUPS, "scenarios": SCENARIOS, "train_city": next(iter(cities))}
    data.update(sections)
    return parse_params(data, "test params")


def noise_image(seed: int, size: tuple[int, int] = (96, 80), mode: str = "RGB") -> Image.Image:
    """A distinct image per seed (smooth random field, so JPEG keeps its perceptual hash)."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (6, 6, 3), dtype=np.uint8)
    img = Image.fromarray(small, "RGB").resize(size, Image.Resampling.BICUBIC)
    return img.convert(mode) if mode != "RGB" else img


def jpeg_bytes(img: Image.Image, quality: int = 90) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def png_bytes(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose IHDR declares width x height (valid CRC) with a tiny, useless data stream."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\0" * 16))
        + chunk(b"IEND", b"")
    )


# The expected verdict per corpus file: None = valid, else the quarantine reason code.
CORPUS_EXPECT: dict[str, str | None] = {
    "good_1.jpg": None,
    "good_2.jpg": "bad_lat",  # images.csv gives lat 200
    "good_3.jpg": None,
    "good_4.jpg": None,
    "near_1.jpg": None,  # near duplicate of good_1 (flagged, kept by default)
    "png_named.jpg": None,  # PNG content, .jpg name: content decides
    "cmyk.jpg": None,
    "gray16.png": None,
    "palette.png": None,
    "rgba.png": None,
    "dup_a.jpg": None,
    "dup_b.jpg": "duplicate",
    "truncated.jpg": "truncated",
    "empty.jpg": "empty_file",
    "text.jpg": "undecodable",
    "tiny.png": "too_small",
    "bomb.png": "too_large",
    "escape.jpg": "path_escape",
}


def build_corpus(folder: Path, outside: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    outside.mkdir(parents=True, exist_ok=True)
    w = lambda name, data: (folder / name).write_bytes(data)  # noqa: E731
    for i in range(1, 5):
        w(f"good_{i}.jpg", jpeg_bytes(noise_image(i)))
    w("near_1.jpg", jpeg_bytes(noise_image(1), quality=70))
    w("png_named.jpg", png_bytes(noise_image(20)))
    cmyk = io.BytesIO()
    noise_image(21).convert("CMYK").save(cmyk, "JPEG")
    w("cmyk.jpg", cmyk.getvalue())
    g16 = (np.asarray(noise_image(22).convert("L"), dtype=np.uint16) * 257).astype(np.uint16)
    w("gray16.png", png_bytes(Image.fromarray(g16)))  # uint16 -> mode I;16, saved as 16-bit PNG
    w("palette.png", png_bytes(noise_image(23).convert("P", palette=Image.Palette.ADAPTIVE)))
    w("rgba.png", png_bytes(noise_image(24).convert("RGBA")))
    dup = jpeg_bytes(noise_image(25))
    w("dup_a.jpg", dup)
    w("dup_b.jpg", dup)
    full = jpeg_bytes(noise_image(26))
    w("truncated.jpg", full[: len(full) * 2 // 3])  # header intact, scan data cut off
    w("empty.jpg", b"")
    w("text.jpg", b"this is not an image, whatever its name says\n")
    w("tiny.png", png_bytes(Image.new("RGB", (1, 1), (9, 9, 9))))
    w("bomb.png", png_header_only(30000, 30000))
    secret = outside / "secret.jpg"
    secret.write_bytes(jpeg_bytes(noise_image(27)))
    (folder / "escape.jpg").symlink_to(secret)
    (folder / "images.csv").write_text(
        "id,lat,lon,heading,captured_at\n"
        "good_1,42.35,-71.06,90,2024-05-01\n"
        "good_2,200,-71.06,,\n"
        "good_3,42.36,-71.05,180,2024-05-02\n"
        "ghost,42.37,-71.04,0,\n"
    )
    return folder


class FakeSimulate:
    """Stand-in for perceptops.data.simulate (owned by another engineer) with its documented API."""

    def __init__(self):
        self.calls: list = []

    def synthesize(self, sp, scenarios, out_dir):
        import types

        import pandas as pd

        self.calls.append((sp, list(scenarios), out_dir))
        rng = np.random.default_rng(sp.seed)
        rows = []
        for i in range(sp.n_images):
            f = f"scene_{i:04d}.png"
            (out_dir / f).write_bytes(png_bytes(noise_image(1000 * sp.seed + i)))
            rows.append(
                {
                    "source_id": f"scene_{i:04d}",
                    "file": f,
                    "lat": 59.3 + i * 1e-3,
                    "lon": 18.0,
                    "heading": 0.0,
                    "captured_at": "2026-01-01",
                }
            )
        ids = [r["source_id"] for r in rows]
        votes = []
        for r in range(12):
            gender, age = ("female", "male")[r % 2], int(20 + 6 * r)
            for _ in range(10):
                a, b = rng.choice(len(ids), 2, replace=False)
                votes.append(
                    {
                        "image_a": ids[a],
                        "image_b": ids[b],
                        "choice": ("a", "b", "equal")[rng.integers(3)],
                        "rater_id": f"r{r}",
                        "scenario": ["general", *scenarios][rng.integers(3)],
                        "gender": gender,
                        "age": age,
                    }
                )
        return types.SimpleNamespace(images=pd.DataFrame(rows), votes=pd.DataFrame(votes))

    def simulate_panel(self, items, panel, scenarios):
        import pandas as pd

        self.calls.append(("panel", items.copy(), panel, list(scenarios)))
        rng = np.random.default_rng(panel.seed)
        ids = list(items["image_id"])
        score = dict(zip(items["image_id"], items["score"], strict=True))
        votes = []
        for r in range(8):
            for _ in range(12):
                a, b = rng.choice(len(ids), 2, replace=False)
                ch = "a" if score[ids[a]] >= score[ids[b]] else "b"
                votes.append(
                    {
                        "image_a": ids[a],
                        "image_b": ids[b],
                        "choice": ch,
                        "rater_id": f"p{r}",
                        "scenario": ["general", *scenarios][r % 3],
                        "gender": ("female", "male")[r % 2],
                        "age": 30 + 10 * r,
                    }
                )
        return pd.DataFrame(votes)
