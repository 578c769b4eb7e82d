"""Serving benchmarks: the packaged bento behind `bentoml serve` on 127.0.0.1, side by side with the
same decode + encode + score code in-process, on the same Place Pulse 1.0 photos, in the same run.

Setup (once per module): a throwaway project with the nine default models (stand-in nets for the
TFLite MobileNet image encoder of ../shared/models/coral and the built-in text encoder) registered in a
sqlite MLflow registry, `perceptops package`, then `bentoml serve` of the bento with MLflow pointed
at a dead address. All traffic goes to 127.0.0.1 and is bounded in count and time.

- served throughput (16 concurrent clients, adaptive batching on) / raw in-process throughput: >= 0.7
- p50 / p99 latency at a fixed request rate (open loop)
- a bounded load test (N clients, T seconds, good and bad requests): zero 5xx
"""

from __future__ import annotations

import base64
import json
import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from support import REPO_ROOT, make_project, perceptops

sys.path.insert(0, str(REPO_ROOT / "tests" / "serve"))
from serve_helpers import Server, png_bytes, register_standins, serve_env  # noqa: E402

N_IMAGES = 64
CLIENTS = 16
TFLITE = "${PERCEPTOPS_SHARED}/models/coral/mobilenet_v1_1.0_224_quant_embedding_extractor.tflite"


@pytest.fixture(scope="module")
def bench(tmp_path_factory, shared):
    if not (shared / "models" / "coral").is_dir():
        pytest.skip("TFLite models missing from the shared folder")
    photos = sorted((shared / "data" / "placepulse1" / "images").glob("*.jpg"))[:N_IMAGES]
    root = make_project(
        tmp_path_factory.mktemp("servebench") / "proj",
        {"encode": {"image": {"kind": "tflite", "model": TFLITE}}},
    )
    os.environ.pop("MLFLOW_TRACKING_URI", None)
    os.environ["PERCEPTOPS_SHARED"] = str(shared)
    register_standins(root)
    r = perceptops(root, "package", "--json", timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    packaged = {**json.loads(r.stdout), "root": root}
    srv = Server.bentoml(
        packaged["bento"],
        root,
        serve_env(root, packaged),
        Path(os.environ.get("PERCEPTOPS_BENCH_LOG", root / "serve.log")),
    )
    try:
        srv.wait_ready()
        yield packaged, srv, photos
    finally:
        srv.stop()


def request_bodies(photos: list[Path], targets: list[str]) -> list[bytes]:
    """JSON /score bodies with every description given (the describer is not what is measured)."""
    return [
        json.dumps(
            {
                "image": base64.b64encode(p.read_bytes()).decode(),
                "descriptions": {t: f"photo {i}: a street seen by {t}, cars parked, trees" for t in targets},
            }
        ).encode()
        for i, p in enumerate(photos)
    ]


def post_all(url: str, bodies: list[bytes], clients: int) -> list[tuple[int, float]]:
    """Send every body once from ``clients`` threads (one keep-alive connection each)."""
    import httpx

    local = threading.local()

    def one(body: bytes) -> tuple[int, float]:
        if not hasattr(local, "c"):
            local.c = httpx.Client(timeout=60)
        t0 = time.perf_counter()
        r = local.c.post(f"{url}/score", content=body, headers={"content-type": "application/json"})
        return r.status_code, time.perf_counter() - t0

    with ThreadPoolExecutor(clients) as pool:
        return list(pool.map(one, bodies))


def test_served_throughput_vs_in_process(bench, benchmark):
    packaged, srv, photos = bench
    os.environ["BENTOML_HOME"] = packaged["bentoml_home"]  # read by BentoML when first imported
    from perceptops.serve.inputs import Limits, decode_image
    from perceptops.serve.runtime import Engine, load_runtime

    engine = Engine(load_runtime(packaged["runtime"]))
    targets = engine.runtime.targets
    assert len(targets) == 9
    bodies = request_bodies(photos, targets)
    payloads = [json.loads(b) for b in bodies]
    limits = Limits.from_params(engine.params.serve)
    batch = engine.params.serve.max_batch_size

    def raw() -> None:  # the same per-request work in-process: base64 -> checked decode -> encode+score
        for k in range(0, len(payloads), batch):
            chunk = payloads[k : k + batch]
            images = [decode_image(base64.b64decode(p["image"]), limits) for p in chunk]
            engine.score(images, [p["descriptions"] for p in chunk])

    post_all(srv.url, bodies[:CLIENTS], CLIENTS)  # warm both sides
    raw()
    # Interleaved rounds (raw, served, raw, served, ...): on a shared machine the load changes from
    # minute to minute, so both sides see the same conditions; the best round of each is compared.
    raw_times, served_times, results = [], [], []
    for _ in range(3):
        t0 = time.perf_counter()
        raw()
        raw_times.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        results.extend(post_all(srv.url, bodies, CLIENTS))
        served_times.append(time.perf_counter() - t0)
    benchmark.pedantic(lambda: results.extend(post_all(srv.url, bodies, CLIENTS)), rounds=1, iterations=1)
    served_times.append(benchmark.stats.stats.min)
    assert all(code == 200 for code, _ in results)
    raw_ips = len(photos) / min(raw_times)
    served_ips = len(photos) / min(served_times)
    ratio = served_ips / raw_ips
    benchmark.extra_info.update(
        images=len(photos),
        models=len(targets),
        clients=CLIENTS,
        raw_images_per_s=round(raw_ips, 1),
        served_images_per_s=round(served_ips, 1),
        ratio=round(ratio, 3),
    )
    print(f"\nraw {raw_ips:.1f} img/s, served {served_ips:.1f} img/s, ratio {ratio:.2f}")
    assert ratio >= 0.7, benchmark.extra_info


def test_latency_at_fixed_rate(bench, benchmark):
    """Open loop: requests start on a fixed schedule (RATE per second for SECONDS), whatever the answers."""
    import httpx

    packaged, srv, photos = bench
    rate, seconds = 6.0, 8.0  # about half the served throughput measured above
    with httpx.Client() as c:
        targets = [m["target"] for m in c.get(f"{srv.url}/models").json()["models"]]
    bodies = request_bodies(photos, targets)
    n = int(rate * seconds)

    def run() -> list[tuple[int, float]]:
        out: list[tuple[int, float]] = []
        lock = threading.Lock()
        start = time.perf_counter()

        def fire(i: int) -> None:
            delay = start + i / rate - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            with httpx.Client(timeout=60) as client:
                t0 = time.perf_counter()
                r = client.post(
                    f"{srv.url}/score",
                    content=bodies[i % len(bodies)],
                    headers={"content-type": "application/json"},
                )
                with lock:
                    out.append((r.status_code, time.perf_counter() - t0))

        with ThreadPoolExecutor(32) as pool:
            list(pool.map(fire, range(n)))
        return out

    res = benchmark.pedantic(run, rounds=1, iterations=1)
    lat = sorted(t for _, t in res)
    p50, p99 = lat[len(lat) // 2], lat[min(len(lat) - 1, int(0.99 * len(lat)))]
    benchmark.extra_info.update(
        rate_per_s=rate, requests=n, p50_ms=round(p50 * 1000, 1), p99_ms=round(p99 * 1000, 1)
    )
    print(f"\n{rate:.0f} req/s for {seconds:.0f}s: p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms")
    assert all(code == 200 for code, _ in res)


def test_bounded_load_no_5xx(bench, benchmark):
    """N clients for T seconds, one request in five a bad one (not an image, malformed JSON, bomb)."""
    import httpx

    packaged, srv, photos = bench
    clients, seconds = 12, 8.0
    with httpx.Client() as c:
        targets = [m["target"] for m in c.get(f"{srv.url}/models").json()["models"]]
    good = request_bodies(photos[:16], targets)
    bad = [
        b"{not json",
        json.dumps({"image": base64.b64encode(b"plain text").decode()}).encode(),
        json.dumps(
            {"image": base64.b64encode(png_bytes()).decode(), "descriptions": {"nobody-crime": "x"}}
        ).encode(),
    ]

    def run() -> dict[int, int]:
        counts: dict[int, int] = {}
        lock = threading.Lock()
        stop = time.perf_counter() + seconds

        def client(k: int) -> None:
            with httpx.Client(timeout=60) as c:
                i = 0
                while time.perf_counter() < stop:
                    body = bad[i % len(bad)] if i % 5 == 4 else good[(k + i) % len(good)]
                    code = c.post(
                        f"{srv.url}/score", content=body, headers={"content-type": "application/json"}
                    ).status_code
                    with lock:
                        counts[code] = counts.get(code, 0) + 1
                    i += 1

        with ThreadPoolExecutor(clients) as pool:
            list(pool.map(client, range(clients)))
        return counts

    counts = benchmark.pedantic(run, rounds=1, iterations=1)
    total = sum(counts.values())
    benchmark.extra_info.update(
        clients=clients,
        seconds=seconds,
        requests=total,
        by_status=counts,
        requests_per_s=round(total / seconds, 1),
    )
    print(f"\nload {clients} clients x {seconds:.0f}s: {total} requests, by status {counts}")
    assert not [c for c in counts if c >= 500], counts
    assert counts.get(200, 0) > 0 and set(counts) <= {200, 400, 422}
    assert srv.healthy()
