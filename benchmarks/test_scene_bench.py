"""Scene-parse throughput on real Place Pulse 1.0 photos.

- TFLite DeepLab with ``scene.threads`` 2 (both cores) versus 1, timed side by side in one run,
  interleaved round by round; the speed-up is in extra_info (``speedup_2_vs_1``);
- the ``pixel`` backend's images/s for comparison.
No cache: every image goes through the backend each round.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent / "tests" / "scene"), str(HERE.parent / "tests")]

from scene_support import params_with  # noqa: E402

N_IMAGES = 16
ROUNDS = 3


@pytest.fixture(scope="module")
def photos(shared: Path) -> list:
    from PIL import Image

    folder = shared / "data" / "placepulse1" / "images"
    files = sorted(folder.glob("*.jpg"))[:N_IMAGES]
    if len(files) < N_IMAGES:
        pytest.skip(f"need {N_IMAGES} photos in {folder}")
    return [Image.open(f).convert("RGB") for f in files]


def _parser(backend: str, threads: int, shared: Path):
    from perceptops.scene.parse import SceneParser

    model = shared / "models" / "coral" / "deeplab_mobilenet_edgetpu_slim_cityscapes_quant.tflite"
    return SceneParser(
        params_with(backend=backend, model=str(model) if backend == "tflite" else None, threads=threads)
    )


def test_tflite_two_threads_vs_one(benchmark, photos, shared):
    one, two = _parser("tflite", 1, shared), _parser("tflite", 2, shared)
    one.parse(photos[:2])  # warm both interpreters
    two.parse(photos[:2])
    times: dict[int, list[float]] = {1: [], 2: []}
    for _ in range(ROUNDS):
        for n, p in ((1, one), (2, two)):
            t0 = time.perf_counter()
            p.parse(photos)
            times[n].append(time.perf_counter() - t0)
    benchmark.pedantic(lambda: two.parse(photos), rounds=1, iterations=1)
    best1, best2 = min(times[1]), min(times[2])
    benchmark.extra_info.update(
        {
            "images": len(photos),
            "img_per_s_1_thread": round(len(photos) / best1, 2),
            "img_per_s_2_threads": round(len(photos) / best2, 2),
            "speedup_2_vs_1": round(best1 / best2, 3),
        }
    )
    print(
        f"\nscene tflite: 1 thread {len(photos) / best1:.2f} img/s, 2 threads {len(photos) / best2:.2f} img/s, "
        f"speed-up {best1 / best2:.2f}x"
    )
    one.close()
    two.close()


def test_pixel_backend_throughput(benchmark, photos, shared):
    p = _parser("pixel", 1, shared)
    df = benchmark.pedantic(lambda: p.parse(photos), rounds=ROUNDS, iterations=1)
    assert len(df) == len(photos)
    benchmark.extra_info["img_per_s"] = round(len(photos) / benchmark.stats.stats.min, 2)
