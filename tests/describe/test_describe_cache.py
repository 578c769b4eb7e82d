"""The SQLite response cache: content-addressed keys, commit per answer, failures never hide successes."""

from __future__ import annotations

import sqlite3

from perceptops.describe.cache import ResponseCache, cache_key

BASE = dict(image_id="img", target="general", backend="openai", model="m", prompt_hash="p", gen={"t": 0})


def put(c: ResponseCache, key: str, ok: bool, **kw):
    c.put(
        key=key,
        **BASE,
        raw="r",
        parsed={"description": "d", "safety": 5, "factors": []} if ok else None,
        usage={"total_tokens": 3},
        latency_s=0.1,
        error=None if ok else "boom",
        attempts=kw.get("attempts", 1),
    )


def test_key_depends_on_every_part():
    k = cache_key("img", "p", "openai", "m", {"t": 0})
    assert k == cache_key("img", "p", "openai", "m", {"t": 0})
    others = [
        cache_key("img2", "p", "openai", "m", {"t": 0}),
        cache_key("img", "p2", "openai", "m", {"t": 0}),
        cache_key("img", "p", "scene", "m", {"t": 0}),
        cache_key("img", "p", "openai", "m2", {"t": 0}),
        cache_key("img", "p", "openai", "m", {"t": 1}),
    ]
    assert len({k, *others}) == 6


def test_failure_then_success_and_attempts_add_up(tmp_path):
    with ResponseCache(tmp_path / "c.sqlite") as c:
        put(c, "k", ok=False, attempts=3)
        e = c.get("k")
        assert not e.ok and e.error == "boom" and e.attempts == 3
        put(c, "k", ok=True, attempts=1)
        e = c.get("k")
        assert e.ok and e.error is None and e.attempts == 4 and e.usage == {"total_tokens": 3}
        created = e.created
        put(c, "k", ok=False)  # a later failure never overwrites an answer
        assert c.get("k").ok and c.get("k").created == created
        put(c, "k", ok=True)  # re-storing an answer keeps its creation time (outputs stay byte-stable)
        assert c.get("k").created == created
        assert c.count() == 1 and c.count(ok=True) == 1 and c.count(ok=False) == 0


def test_committed_at_once_and_visible_to_other_connections(tmp_path):
    path = tmp_path / "c.sqlite"
    c = ResponseCache(path)
    put(c, "a", ok=True)
    with sqlite3.connect(path) as other:  # another process would see it right away
        assert other.execute("SELECT COUNT(*) FROM responses").fetchone()[0] == 1
        assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    c.close()
    with ResponseCache(path) as again:
        assert again.get_many(["a", "missing"]).keys() == {"a"}
