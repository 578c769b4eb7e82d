"""The packaged bento behind a real server on loopback: `perceptops serve` -> `bentoml serve`.

One server per module (7-10 s to start), MLflow pointed at a dead address (the bento must not need
it). Every bad input is a 4xx with a message, and the server answers a good request after each.
"""

from __future__ import annotations

import base64
import io
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from PIL import Image
from serve_helpers import Server, bomb_png, png_bytes, serve_env

pytestmark = pytest.mark.integration

TARGETS = ["general", "women-traffic", "women-crime", "elderly-traffic", "elderly-crime"]


@pytest.fixture(scope="module")
def server(packaged, tmp_path_factory):
    """Started through `perceptops serve --bento TAG` (the CLI execs `bentoml serve`)."""
    root = packaged["root"]
    log = tmp_path_factory.mktemp("log") / "serve.log"
    srv = Server.perceptops(packaged["bento"], root, serve_env(root, packaged), log)
    try:
        srv.wait_ready()
        yield srv
    finally:
        srv.stop()


@pytest.fixture(scope="module")
def photos(shared) -> list[Path]:
    files = sorted((shared / "data" / "placepulse1" / "images").glob("*.jpg"))[:8]
    if len(files) < 8:
        pytest.skip("Place Pulse 1.0 photos missing from the shared folder")
    return files


def client():
    import httpx

    return httpx.Client(timeout=60)


def b64(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode()


def descriptions(word: str) -> dict[str, str]:
    return {t: f"{word} street with a wide sidewalk and {t} lighting" for t in TARGETS}


def check_result(res: dict, described: list[str]) -> None:
    assert [r["target"] for r in res["results"]] == TARGETS
    for r in res["results"]:
        assert r["model"] == f"safety-{r['target']}" and r["version"] == "1"
        assert 0.0 <= r["score"] <= 10.0
        assert r["label"] == ("safe" if r["score"] >= res["threshold"] else "unsafe")
    assert res["described"] == described


def test_models_names_versions_lineage(server):
    with client() as c:
        info = c.get(f"{server.url}/models").json()
    assert [m["name"] for m in info["models"]] == [f"safety-{t}" for t in TARGETS]
    for m in info["models"]:
        assert m["version"] == "1"
        labels = m["labels"]
        assert labels["git.commit"] == "0123456789abcdef"
        assert labels["lineage.descriptions.md5"] == "d41d8cd98f00b204e9800998ecf8427e"
        assert labels["describer.prompt_hash"] == "feedbeef"
        assert labels["encoder.image"].startswith("builtin-image")
        assert labels["mlflow.name"] == m["name"] and labels["mlflow.version"] == "1"


def test_health_readiness_openapi(server):
    with client() as c:
        assert c.get(f"{server.url}/livez").status_code == 200
        assert c.get(f"{server.url}/readyz").status_code == 200
        assert c.get(f"{server.url}/docs.json").status_code == 200


def test_score_real_photo_multipart_uses_describer(server, photos):
    """No descriptions sent: the configured (built-in scene) describer writes all of them."""
    with client() as c:
        r = c.post(
            f"{server.url}/score", files={"image": (photos[0].name, photos[0].read_bytes(), "image/jpeg")}
        )
    assert r.status_code == 200, r.text
    check_result(r.json(), described=TARGETS)
    assert r.json()["width"] == 320


def test_score_base64_json_with_descriptions_and_determinism(server, photos):
    body = {"image": b64(photos[1]), "descriptions": descriptions("a quiet, well lit")}
    with client() as c:
        a = c.post(f"{server.url}/score", json=body).json()
        b = c.post(f"{server.url}/score", json=body).json()
        other = c.post(
            f"{server.url}/score", json={**body, "descriptions": descriptions("a dark, deserted")}
        ).json()
        raw = c.post(
            f"{server.url}/score", content=photos[1].read_bytes(), headers={"content-type": "image/jpeg"}
        ).json()
    check_result(a, described=[])
    assert a == b  # same input, same scores
    assert [r["score"] for r in a["results"]] != [r["score"] for r in other["results"]]  # text is read
    check_result(raw, described=TARGETS)


def test_partial_and_nested_descriptions(server, photos):
    body = {
        "image": b64(photos[2]),
        "descriptions": {"general": "a busy road", "women": {"crime": "dark alley"}},
    }
    with client() as c:
        r = c.post(f"{server.url}/score", json=body)
    assert r.status_code == 200, r.text
    check_result(r.json(), described=["women-traffic", "elderly-traffic", "elderly-crime"])


def test_score_batch_matches_single_requests(server, photos):
    descs = [descriptions(f"street {i}") for i in range(len(photos))]
    with client() as c:
        batch = c.post(
            f"{server.url}/score_batch", json={"images": [b64(p) for p in photos], "descriptions": descs}
        )
        assert batch.status_code == 200, batch.text
        items = batch.json()["items"]
        files = [("image", (p.name, p.read_bytes(), "image/jpeg")) for p in photos[:3]]
        multi = c.post(f"{server.url}/score_batch", files=files)
        assert multi.status_code == 200, multi.text
        # Concurrent single requests go through the same batched scorer: same numbers.
        with ThreadPoolExecutor(8) as pool:
            singles = list(
                pool.map(
                    lambda i: c.post(
                        f"{server.url}/score", json={"image": b64(photos[i]), "descriptions": descs[i]}
                    ).json(),
                    range(len(photos)),
                )
            )
    assert len(items) == len(photos) and len(multi.json()["items"]) == 3
    for item, single in zip(items, singles, strict=True):
        check_result(item, described=[])
        assert [r["score"] for r in item["results"]] == pytest.approx(
            [r["score"] for r in single["results"]], abs=1e-3
        )


def _jpeg(w: int, h: int) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (w, h), (90, 120, 30)).save(buf, format="JPEG")
    return buf.getvalue()


BAD = {
    "not an image": dict(
        files={"image": ("x.jpg", b"<html>definitely not a jpeg</html>", "image/jpeg")},
        status=422,
        needle="not an image",
    ),
    "empty body": dict(content=b"", headers={"content-type": "application/json"}, status=400, needle="empty"),
    "40 MB upload": dict(
        content=b"\xff" * (40 * 2**20),
        headers={"content-type": "image/jpeg"},
        status=413,
        needle="serve.max_upload_mb",
    ),
    "40 MB multipart": dict(
        files={"image": ("big.jpg", b"\xff" * (40 * 2**20), "image/jpeg")},
        status=413,
        needle="serve.max_upload_mb",
    ),
    "decompression bomb": dict(
        files={"image": ("bomb.png", bomb_png(20000, 20000), "image/png")}, status=413, needle="max_pixels"
    ),
    "bomb under PIL's guard": dict(
        files={"image": ("bomb.png", bomb_png(9000, 9000), "image/png")}, status=413, needle="max_pixels"
    ),
    "unknown group": dict(
        json={"image": base64.b64encode(png_bytes()).decode(), "descriptions": {"aliens-crime": "x"}},
        status=422,
        needle="aliens",
    ),
    "unknown nested group": dict(
        json={"image": base64.b64encode(png_bytes()).decode(), "descriptions": {"aliens": {"crime": "x"}}},
        status=422,
        needle="aliens",
    ),
    "descriptions wrong type": dict(
        json={"image": base64.b64encode(png_bytes()).decode(), "descriptions": ["general", "text"]},
        status=422,
        needle="object",
    ),
    "description not a string": dict(
        json={"image": base64.b64encode(png_bytes()).decode(), "descriptions": {"general": 7}},
        status=422,
        needle="string",
    ),
    "malformed JSON": dict(
        content=b'{"image": "abc',
        headers={"content-type": "application/json"},
        status=400,
        needle="malformed JSON",
    ),
    "bad base64": dict(json={"image": "%%% not base64 %%%"}, status=422, needle="base64"),
    "missing image field": dict(json={"descriptions": {}}, status=422, needle="'image'"),
    "batch too many": dict(
        path="/score_batch",
        json={"images": [base64.b64encode(png_bytes()).decode()] * 40},
        status=413,
        needle="serve.max_images",
    ),
    "batch descriptions misaligned": dict(
        path="/score_batch",
        json={"images": [base64.b64encode(png_bytes()).decode()], "descriptions": [None, None]},
        status=422,
        needle="one entry",
    ),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_input_is_4xx_and_server_stays_healthy(server, photos, case):
    spec = dict(BAD[case])
    status, needle, path = spec.pop("status"), spec.pop("needle"), spec.pop("path", "/score")
    with client() as c:
        r = c.post(f"{server.url}{path}", **spec)
        assert r.status_code == status, r.text[:500]
        body = r.json()
        assert body["status"] == status and needle in body["error"], body
        assert server.healthy()
        ok = c.post(f"{server.url}/score", json={"image": b64(photos[0]), "descriptions": descriptions("a")})
        assert ok.status_code == 200
