"""Ingest + validate throughput on real Place Pulse 1.0 photos (320x240 / 320x180 JPEGs).

Run: .venv/bin/pytest benchmarks/test_data_bench.py --benchmark-only -p no:randomly
Figures land in extra_info (images_per_s, per_image_ms); the three benchmarks run side by side on the
same 300 images, so the split ingest / validate / GX suite is a ratio from one run.
"""

from __future__ import annotations

import pytest

from perceptops.config import parse_params
from perceptops.data.ingest import ingest_city
from perceptops.data.manifest import read_manifest
from perceptops.data.validate import run_manifest_suite, validate_city
from perceptops.paths import Layout

N = 300


@pytest.fixture(scope="module")
def city(shared, tmp_path_factory):
    root = tmp_path_factory.mktemp("bench")
    (root / "params.yaml").write_text("{}\n")
    params = parse_params(
        {
            "cities": {
                "pp1": {"source": "placepulse1", "path": str(shared / "data" / "placepulse1"), "limit": N}
            },
            "groups": {"all_people": {"persona": "anyone"}},
            "scenarios": {"crime": {"risk": "crime"}},
            "train_city": "pp1",
        }
    )
    lay = Layout(root)
    ingest_city(params, lay, "pp1")
    validate_city(params, lay, "pp1")  # warm-up: imports Great Expectations (seconds) outside the timings
    return params, lay


def _record(benchmark, n: int) -> None:
    mean = benchmark.stats.stats.mean
    benchmark.extra_info["images"] = n
    benchmark.extra_info["images_per_s"] = round(n / mean, 1)
    benchmark.extra_info["per_image_ms"] = round(1000 * mean / n, 3)


def test_bench_ingest(benchmark, city):
    params, lay = city
    r = benchmark.pedantic(ingest_city, args=(params, lay, "pp1"), rounds=3, iterations=1)
    assert r["manifest"] == N
    _record(benchmark, N)


def test_bench_validate(benchmark, city):
    params, lay = city
    m = benchmark.pedantic(validate_city, args=(params, lay, "pp1"), rounds=3, iterations=1)
    assert m["total"] == N and m["passed"]
    _record(benchmark, N)


def test_bench_gx_manifest_suite(benchmark, city):
    params, lay = city
    manifest = read_manifest(lay, "pp1")
    summary, _ = benchmark.pedantic(
        run_manifest_suite, args=(params, "pp1", manifest), rounds=3, iterations=1
    )
    assert summary["image_id_hex"]["success"]
    _record(benchmark, N)


def test_bench_ingest_plus_validate(benchmark, city):
    params, lay = city

    def both():
        ingest_city(params, lay, "pp1")
        return validate_city(params, lay, "pp1")

    m = benchmark.pedantic(both, rounds=3, iterations=1)
    assert m["valid"] + m["quarantined"] == N
    _record(benchmark, N)
