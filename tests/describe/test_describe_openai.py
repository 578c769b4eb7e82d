"""The OpenAI-compatible backend against a local fake server that injects faults per request."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from fake_openai import decode_image_size, free_port, good_answer, image_url_of

from perceptops.config import load_params
from perceptops.describe.run import cache_path, describe_city
from perceptops.errors import ConfigError, DataError
from perceptops.paths import Layout

KEY_ENV = "PERCEPTOPS_TEST_LLM_KEY"
SECRET = "sk-test-secret-1234567890"


def openai_params(base_url: str, **over: Any) -> dict[str, Any]:
    o = {
        "base_url": base_url,
        "model": "fake-vlm",
        "api_key_env": KEY_ENV,
        "concurrency": 4,
        "timeout_s": 2.0,
        "max_retries": 2,
        "backoff_base_s": 0.01,
        "backoff_max_s": 0.05,
        "max_side": 256,
    }
    o.update(over)
    return {"describe": {"backend": "openai", "max_attempts": 3, "openai": o}}


def run(
    city_factory, base_url: str, n: int = 1, only: str | None = "general", size=(64, 48), extra=None, **over
):
    params = openai_params(base_url, **over)
    if extra:
        params["validate"] = extra
    root = city_factory(n=n, size=size, params=params)
    p = load_params(root / "params.yaml")
    layout = Layout(root)
    try:
        metrics = describe_city(p, layout, "c", only=only, progress=False)
    except DataError as err:
        metrics = {"error": str(err)}
    fail = (
        pd.read_csv(root / "descriptions" / "c" / "failures.csv")
        if (root / "descriptions" / "c" / "failures.csv").is_file()
        else None
    )
    return metrics, fail, root


@pytest.fixture(autouse=True)
def api_key(monkeypatch):
    monkeypatch.setenv(KEY_ENV, SECRET)


def always(action: dict[str, Any]):
    return lambda body, n: action


def first_then_good(*actions: dict[str, Any]):
    return lambda body, n: actions[n] if n < len(actions) else {}


def test_good_answer_multi_turn_schema_and_key_header(city_factory, fake_server):
    srv = fake_server()
    metrics, fail, root = run(city_factory, srv.base_url, n=2)
    assert metrics["general"]["described"] == 2 and metrics["general"]["failed"] == 0
    assert metrics["general"]["tokens"] == 15 * srv.calls
    scale = [r for r in srv.records if not r.has_image]
    assert len(scale) == 1  # turn 1 once per target, not per image
    img = [r for r in srv.records if r.has_image][0].body
    roles = [m["role"] for m in img["messages"]]
    assert roles == ["system", "user", "assistant", "user"]  # scale turn, its answer, then the image turn
    assert img["messages"][2]["content"].startswith("Scale:")
    assert img["response_format"]["type"] == "json_schema"
    assert img["response_format"]["json_schema"]["schema"]["required"] == ["description", "safety", "factors"]
    assert all(r.headers.get("Authorization") == f"Bearer {SECRET}" for r in srv.records)
    # the key is never written anywhere: not in the cache, not in the outputs
    for f in [*root.rglob("*.sqlite*"), *(root / "descriptions").rglob("*"), *(root / "metrics").rglob("*")]:
        if f.is_file():
            assert SECRET.encode() not in f.read_bytes(), f
    df = pd.read_parquet(root / "descriptions" / "c" / "general.parquet")
    assert df["backend"].unique().tolist() == ["openai"] and df["model"].unique().tolist() == ["fake-vlm"]


def test_missing_api_key_fails_before_any_call(city_factory, fake_server, monkeypatch):
    monkeypatch.delenv(KEY_ENV)
    srv = fake_server()
    root = city_factory(n=2, params=openai_params(srv.base_url))
    with pytest.raises(ConfigError, match=KEY_ENV):
        describe_city(load_params(root / "params.yaml"), Layout(root), "c", progress=False)
    assert srv.calls == 0


def test_server_without_keys_needs_no_key(city_factory, fake_server, monkeypatch):
    monkeypatch.delenv(KEY_ENV)
    srv = fake_server()
    metrics, _, _ = run(city_factory, srv.base_url, n=1, require_api_key=False)
    assert metrics["general"]["described"] == 1
    assert "Authorization" not in srv.records[0].headers


@pytest.mark.parametrize(
    ("action", "reason"),
    [
        ({"content": "The street looks pleasant and calm."}, "no JSON object"),
        ({"content": json.dumps({"description": "ok", "factors": []})}, "no 'safety'"),
        ({"content": json.dumps({"description": "ok", "safety": 11})}, "outside 1-10"),
        ({"content": json.dumps({"description": "ok", "safety": -1})}, "outside 1-10"),
        ({"content": json.dumps({"description": "ok", "safety": "ten"})}, "not a number"),
        ({"content": json.dumps({"description": "ok", "safety": None})}, "null"),
        ({"content": ""}, "empty answer"),
        ({"content": None, "refusal": "I can't help with rating places."}, "refused"),
        ({"content": "I'm sorry, but I can't assist with that request."}, "refused"),
        ({"body": "<html>gateway</html>"}, "not JSON"),
    ],
    ids=[
        "non-json",
        "no-safety",
        "safety-11",
        "safety-neg",
        "safety-ten",
        "safety-null",
        "empty",
        "refusal-field",
        "refusal-text",
        "html-body",
    ],
)
def test_bad_answers_are_repaired_then_recorded_as_failed(city_factory, fake_server, action, reason):
    srv = fake_server(always(action))
    metrics, fail, _ = run(city_factory, srv.base_url, n=1)
    assert "nothing was described" in metrics["error"]
    assert len(fail) == 1 and fail.loc[0, "target"] == "general"
    assert reason in fail.loc[0, "error"]
    if "body" in action:  # a transport-level problem: retried, not repaired
        assert srv.image_calls == 3 and fail.loc[0, "attempts"] == 1
    else:
        assert srv.image_calls == 3 and fail.loc[0, "attempts"] == 3  # max_attempts answer/repair turns
        repair = srv.records[-1].body["messages"][-1]["content"]
        assert "could not be used" in repair


def test_repair_turn_fixes_a_bad_answer(city_factory, fake_server):
    srv = fake_server(first_then_good({"content": '```json\n{"description": "x", "safety": "ten"}\n```'}))
    metrics, fail, root = run(city_factory, srv.base_url, n=1)
    assert metrics["general"] == {"described": 1, "failed": 0, "calls": 3, "cached": 0, "tokens": 45}
    last = srv.records[-1].body["messages"]
    assert last[-2]["role"] == "assistant" and "ten" in last[-2]["content"]
    assert "'safety' is 'ten'" in last[-1]["content"]
    assert fail.empty


def test_429_honours_retry_after(city_factory, fake_server, monkeypatch):
    from perceptops.describe.openai_backend import OpenAIDescriber

    delays = []
    orig = OpenAIDescriber._delay
    monkeypatch.setattr(
        OpenAIDescriber, "_delay", lambda self, a, ra: delays.append(orig(self, a, ra)) or delays[-1]
    )
    srv = fake_server(first_then_good({"status": 429, "headers": {"Retry-After": "1"}}))
    metrics, _, _ = run(city_factory, srv.base_url, n=1)
    assert metrics["general"]["described"] == 1
    assert delays == [1.0]  # the server's Retry-After, not the (0.01-0.05 s) backoff
    img = [r.t for r in srv.records if r.has_image]
    assert img[1] - img[0] >= 0.9


def test_500_is_retried_then_recorded(city_factory, fake_server):
    srv = fake_server(first_then_good({"status": 500}, {"status": 503}))
    metrics, _, _ = run(city_factory, srv.base_url, n=1)
    assert metrics["general"]["described"] == 1 and srv.image_calls == 3
    srv2 = fake_server(always({"status": 500, "text": "boom"}))
    metrics, fail, _ = run(city_factory, srv2.base_url, n=1)
    assert srv2.image_calls == 3  # 1 + max_retries
    assert "HTTP 500" in fail.loc[0, "error"] and "max_retries" in fail.loc[0, "error"]


def test_other_4xx_is_not_retried(city_factory, fake_server):
    srv = fake_server(always({"status": 401, "text": "bad key"}))
    _, fail, _ = run(city_factory, srv.base_url, n=1)
    assert srv.image_calls == 1 and "HTTP 401" in fail.loc[0, "error"]


def test_server_without_json_schema_falls_back(city_factory, fake_server):
    def policy(body, n):
        if "response_format" in body:
            return {"status": 400, "text": "unsupported parameter: response_format"}
        return {}

    srv = fake_server(policy)
    metrics, _, _ = run(city_factory, srv.base_url, n=3, concurrency=1)
    assert metrics["general"]["described"] == 3
    assert sum("response_format" in r.body for r in srv.records) == 1  # learnt once, then plain prompts


def test_connection_refused_is_recorded_per_item(city_factory):
    url = f"http://127.0.0.1:{free_port()}/v1"
    metrics, fail, _ = run(city_factory, url, n=2)
    assert "nothing was described" in metrics["error"]
    assert len(fail) == 2 and fail["error"].str.contains("connection error").all()
    assert fail["error"].str.contains("ConnectError").all()


def test_stall_past_timeout(city_factory, fake_server):
    srv = fake_server(first_then_good({"stall": 1.5}))
    metrics, _, _ = run(city_factory, srv.base_url, n=1, timeout_s=0.5)
    assert metrics["general"]["described"] == 1 and srv.image_calls == 2
    srv2 = fake_server(always({"stall": 1.5}))
    _, fail, _ = run(city_factory, srv2.base_url, n=1, timeout_s=0.3, max_retries=1)
    assert "timeout after 0.3 s" in fail.loc[0, "error"]


def test_truncated_response_is_retried(city_factory, fake_server):
    srv = fake_server(first_then_good({"truncate": True}))
    metrics, _, _ = run(city_factory, srv.base_url, n=1)
    assert metrics["general"]["described"] == 1 and srv.image_calls == 2
    srv2 = fake_server(always({"truncate": True}))
    _, fail, _ = run(city_factory, srv2.base_url, n=1)
    assert "connection error" in fail.loc[0, "error"]


def test_huge_image_is_resized_before_sending(city_factory, fake_server):
    srv = fake_server()
    metrics, _, root = run(
        city_factory, srv.base_url, n=1, size=(8000, 6000), extra={"max_pixels": 60_000_000}, max_side=512
    )
    assert metrics["general"]["described"] == 1
    rec = [r for r in srv.records if r.has_image][0]
    url = rec.body["messages"][-1]["content"][0]["image_url"]["url"]
    assert url.startswith("data:image/jpeg;base64,")
    assert decode_image_size(url) == (512, 384)
    assert rec.size < 100_000  # a 512x384 JPEG, not the 8000x6000 original
    assert (root / "images" / "img0000.png").stat().st_size > 2 * rec.size


def test_fifty_images_with_faults_then_rerun_makes_no_calls(city_factory, fake_server):
    """Every image ends described or failed with its reason; failed ones are retried next run."""
    seen: dict[str, int] = {}
    faults = [
        {"status": 429, "headers": {"Retry-After": "0"}},
        {"status": 500},
        {"truncate": True},
        {"content": "no json here"},
        {"stall": 3.0},
        {},
    ]

    def faulty(body, n):
        rating = int(good_answer(body).split("rated ")[1].split("/")[0])
        if rating == 10:  # ~1 in 10 images: always a bad rating -> failed after the repair turns
            return {"content": json.dumps({"description": "x", "safety": "ten"})}
        key = image_url_of(body)
        seen[key] = seen.get(key, 0) + 1
        return faults[rating % len(faults)] if seen[key] == 1 else {}  # one fault per image, then healthy

    srv = fake_server(faulty)
    metrics, fail, root = run(city_factory, srv.base_url, n=50, concurrency=8, timeout_s=0.5)
    m = metrics["general"]
    assert m["described"] + m["failed"] == 50
    assert m["failed"] == len(fail) and (fail["error"].str.len() > 0).all()
    assert fail["error"].str.contains("'safety' is 'ten'").all()
    bad = {r.image_key for r in srv.records if r.has_image and "rated 10/" in good_answer(r.body)}
    assert m["failed"] == len(bad) >= 1  # exactly the always-bad images; every transient fault recovered
    ratings = [int(good_answer(r.body).split("rated ")[1].split("/")[0]) for r in srv.records if r.has_image]
    kinds = {x % len(faults) for x in ratings if x != 10}
    assert kinds == set(range(len(faults)))  # each fault kind was injected
    df = pd.read_parquet(root / "descriptions" / "c" / "general.parquet")
    assert df["image_id"].is_unique and len(df) == m["described"]
    assert set(df["image_id"]).isdisjoint(set(fail["image_id"]))
    p, layout = load_params(root / "params.yaml"), Layout(root)
    # run 2, same faults: only the failed items are tried again
    srv.reset()
    describe_city(p, layout, "c", only="general", progress=False)
    assert srv.image_calls == 3 * m["failed"] and srv.calls == srv.image_calls
    # the server heals: run 3 describes the rest; run 4 makes no call at all
    srv.policy = None
    srv.reset()
    m3 = describe_city(p, layout, "c", only="general", progress=False)["general"]
    assert m3["described"] == 50 and srv.image_calls == m["failed"]
    srv.reset()
    m4 = describe_city(p, layout, "c", only="general", progress=False)["general"]
    assert srv.calls == 0 and m4 == {"described": 50, "failed": 0, "calls": 0, "cached": 50, "tokens": 0}


def test_kill9_resume_makes_only_remaining_calls(city_factory, fake_server):
    import os
    import signal
    import subprocess
    import time

    from support import VENV_BIN, env_for_project

    n = 40
    srv = fake_server(latency_s=0.1)
    root = city_factory(n=n, params=openai_params(srv.base_url, concurrency=2))
    env = env_for_project(root, **{KEY_ENV: SECRET})
    cmd = [str(VENV_BIN / "perceptops"), "describe", "--city", "c", "--only", "general", "--quiet"]
    proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while srv.image_calls < n // 2 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    first = {r.image_key for r in srv.records if r.has_image}
    assert n // 2 <= len(first) < n
    with sqlite3.connect(cache_path(load_params(root / "params.yaml"), Layout(root))) as db:
        done = {
            r[0]
            for r in db.execute("SELECT image_id FROM responses WHERE parsed IS NOT NULL AND image_id != ''")
        }
    assert n // 2 - 2 <= len(done) <= len(first)  # at most the calls in flight are lost
    srv.reset()
    out = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert srv.image_calls == n - len(done)  # only the remaining calls, the scale turn came from the cache
    assert srv.calls == srv.image_calls
    assert len({r.image_key for r in srv.records}) == srv.image_calls  # no duplicates
    df = pd.read_parquet(root / "descriptions" / "c" / "general.parquet")
    assert len(df) == n and df["image_id"].is_unique
    with sqlite3.connect(root / ".cache" / "perceptops" / "describe" / "responses.sqlite") as db:
        assert db.execute("SELECT COUNT(*) FROM responses WHERE image_id != ''").fetchone()[0] == n


def test_cache_file_is_wal(city_factory, fake_server):
    srv = fake_server()
    _, _, root = run(city_factory, srv.base_url, n=1)
    with sqlite3.connect(root / ".cache" / "perceptops" / "describe" / "responses.sqlite") as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert Path(root / ".cache" / "perceptops" / "describe").is_dir()


def test_retry_after_parsing_and_backoff_bounds(city_factory):
    import email.utils
    import time

    from perceptops.describe.openai_backend import OpenAIDescriber, retry_after_seconds

    assert retry_after_seconds("3") == 3.0 and retry_after_seconds("0.5") == 0.5
    assert retry_after_seconds("-4") == 0.0 and retry_after_seconds(None) is None
    assert retry_after_seconds("soon") is None
    later = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 25 <= retry_after_seconds(later) <= 31
    root = city_factory(
        n=1, params=openai_params("http://127.0.0.1:9/v1", backoff_base_s=1.0, backoff_max_s=5.0)
    )
    d = OpenAIDescriber(load_params(root / "params.yaml"))
    for attempt, cap in [(0, 1.0), (1, 2.0), (2, 4.0), (3, 5.0), (8, 5.0)]:
        delays = [d._delay(attempt, None) for _ in range(50)]
        assert all(cap / 2 <= x <= cap for x in delays) and len(set(delays)) > 1  # jittered, capped
    assert d._delay(0, 7.0) == 7.0 and d._delay(0, 10_000.0) == 600.0
