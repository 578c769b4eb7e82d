"""Crash-safe, content-addressed response cache (SQLite, WAL).

Key = sha256 of (image sha256, prompt hash, backend, model, generation params). Every answer is
committed as it arrives, so a run killed at any point loses at most the calls in flight, and a re-run
calls the backend only for keys that are missing or whose last attempt failed. ``created`` is the
time the successful answer was first stored: it is what the output parquet shows, stable across runs.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from perceptops.utils import sha256_text, stable_json

SCHEMA = """
CREATE TABLE IF NOT EXISTS responses (
    key        TEXT PRIMARY KEY,
    image_id   TEXT NOT NULL,
    target     TEXT NOT NULL,
    backend    TEXT NOT NULL,
    model      TEXT NOT NULL,
    prompt_hash TEXT NOT NULL,
    gen        TEXT NOT NULL,
    raw        TEXT,
    parsed     TEXT,
    usage      TEXT,
    latency_s  REAL,
    error      TEXT,
    attempts   INTEGER NOT NULL DEFAULT 0,
    created    TEXT NOT NULL,
    updated    TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS responses_target ON responses (target, prompt_hash);
"""


# Insert, or update a previous row: attempts add up; a failure never replaces an answer; ``created`` is
# when the answer first arrived (kept when an answer is stored again).
UPSERT = """
INSERT INTO responses (key, image_id, target, backend, model, prompt_hash, gen, raw, parsed, usage, latency_s,
                       error, attempts, created, updated)
VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)
ON CONFLICT(key) DO UPDATE SET
    raw = excluded.raw, parsed = excluded.parsed, usage = excluded.usage, latency_s = excluded.latency_s,
    error = excluded.error, attempts = responses.attempts + excluded.attempts, gen = excluded.gen,
    created = CASE WHEN responses.parsed IS NULL THEN excluded.created ELSE responses.created END,
    updated = excluded.updated
WHERE responses.parsed IS NULL OR excluded.parsed IS NOT NULL
"""


def cache_key(image_id: str, prompt_hash: str, backend: str, model: str, gen: dict[str, Any]) -> str:
    return sha256_text(stable_json([image_id, prompt_hash, backend, model, gen]))


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class Entry:
    key: str
    image_id: str
    target: str
    backend: str
    model: str
    prompt_hash: str
    raw: str | None
    parsed: dict[str, Any] | None
    usage: dict[str, int]
    latency_s: float | None
    error: str | None
    attempts: int
    created: str

    @property
    def ok(self) -> bool:
        return self.parsed is not None


class ResponseCache:
    """Thread-safe wrapper around one SQLite file in WAL mode (several processes may share it)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(self.path), timeout=30, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: durable across process kills
        self._db.execute("PRAGMA busy_timeout=30000")
        self._db.executescript(SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> ResponseCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @staticmethod
    def _entry(row: tuple) -> Entry:
        (key, image_id, target, backend, model, ph, raw, parsed, usage, lat, err, att, created) = row
        return Entry(
            key=key,
            image_id=image_id,
            target=target,
            backend=backend,
            model=model,
            prompt_hash=ph,
            raw=raw,
            parsed=json.loads(parsed) if parsed else None,
            usage=json.loads(usage) if usage else {},
            latency_s=lat,
            error=err,
            attempts=att,
            created=created,
        )

    _COLS = "key, image_id, target, backend, model, prompt_hash, raw, parsed, usage, latency_s, error, attempts, created"

    def get_many(self, keys: list[str]) -> dict[str, Entry]:
        out: dict[str, Entry] = {}
        with self._lock:
            for i in range(0, len(keys), 500):
                chunk = keys[i : i + 500]
                q = f"SELECT {self._COLS} FROM responses WHERE key IN ({','.join('?' * len(chunk))})"
                for row in self._db.execute(q, chunk):
                    out[row[0]] = self._entry(row)
        return out

    def get(self, key: str) -> Entry | None:
        return self.get_many([key]).get(key)

    def put(
        self,
        *,
        key: str,
        image_id: str,
        target: str,
        backend: str,
        model: str,
        prompt_hash: str,
        gen: dict[str, Any],
        raw: str | None,
        parsed: dict[str, Any] | None,
        usage: dict[str, int] | None,
        latency_s: float | None,
        error: str | None,
        attempts: int,
    ) -> None:
        """Store one answer (or failure) and commit at once. A success is never overwritten by a failure."""
        ts = now_iso()
        row = (
            key, image_id, target, backend, model, prompt_hash, stable_json(gen), raw,
            json.dumps(parsed, sort_keys=True) if parsed is not None else None,
            json.dumps(usage or {}, sort_keys=True), latency_s, error, attempts, ts, ts,
        )  # fmt: skip
        with self._lock:  # one statement = one atomic, committed transaction
            self._db.execute(UPSERT, row)

    def count(self, ok: bool | None = None) -> int:
        q = "SELECT COUNT(*) FROM responses"
        if ok is True:
            q += " WHERE parsed IS NOT NULL"
        elif ok is False:
            q += " WHERE parsed IS NULL"
        with self._lock:
            return int(self._db.execute(q).fetchone()[0])
