"""Per-image scene-parse cache: one SQLite file (WAL) of JSON rows keyed by parser id + image sha256.

SQLite commits are atomic, so a crash loses at most the batch in flight; WAL lets a reader (another
stage, the CLI) read while a parse is writing.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from perceptops.utils import sha256_text


class SceneCache:
    def __init__(self, directory: Path):
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / "scene.sqlite"
        self._db = sqlite3.connect(self.path, timeout=60)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS rows (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        self._db.commit()

    @staticmethod
    def key(parser_id: str, image_sha: str) -> str:
        return sha256_text(f"{parser_id}\n{image_sha}")

    def get_many(self, parser_id: str, image_shas: list[str]) -> dict[str, dict]:
        keys = {self.key(parser_id, s): s for s in image_shas}
        found: dict[str, dict] = {}
        items = list(keys)
        for i in range(0, len(items), 500):  # stay under SQLite's bound-variable limit
            chunk = items[i : i + 500]
            q = f"SELECT key, value FROM rows WHERE key IN ({','.join('?' * len(chunk))})"
            for k, v in self._db.execute(q, chunk):
                found[keys[k]] = json.loads(v)
        return found

    def put_many(self, parser_id: str, rows: dict[str, dict]) -> None:
        with self._db:
            self._db.executemany(
                "INSERT OR REPLACE INTO rows (key, value) VALUES (?, ?)",
                [(self.key(parser_id, s), json.dumps(r, sort_keys=True)) for s, r in rows.items()],
            )

    def close(self) -> None:
        self._db.close()
