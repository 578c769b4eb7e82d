"""The embedding cache: one SQLite file (WAL) of float32 vectors keyed by (encoder id, content sha256).

Each image (by its file sha256) and each description (by the sha256 of its text) is encoded at most
once per encoder, whatever number of stages, models and epochs read it. Commits are per batch and
atomic, so a crash loses at most the batch in flight.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from perceptops.errors import BackendError


class EmbeddingCache:
    def __init__(self, directory: Path):
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / "embeddings.sqlite"
        self._db = sqlite3.connect(self.path, timeout=60)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS emb (encoder TEXT NOT NULL, sha TEXT NOT NULL, dim INTEGER NOT NULL, "
            "vec BLOB NOT NULL, PRIMARY KEY (encoder, sha)) WITHOUT ROWID"
        )
        self._db.commit()

    def get_many(self, encoder_id: str, shas: Sequence[str], dim: int) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        shas = list(shas)
        for i in range(0, len(shas), 500):
            chunk = shas[i : i + 500]
            q = f"SELECT sha, dim, vec FROM emb WHERE encoder = ? AND sha IN ({','.join('?' * len(chunk))})"
            for sha, d, blob in self._db.execute(q, [encoder_id, *chunk]):
                vec = np.frombuffer(blob, dtype=np.float32)
                if d == dim and vec.size == dim and np.isfinite(vec).all():  # else: recompute
                    found[sha] = vec
        return found

    def put_many(self, encoder_id: str, vectors: dict[str, np.ndarray]) -> None:
        with self._db:
            self._db.executemany(
                "INSERT OR REPLACE INTO emb (encoder, sha, dim, vec) VALUES (?, ?, ?, ?)",
                [
                    (encoder_id, sha, int(v.size), np.ascontiguousarray(v, dtype=np.float32).tobytes())
                    for sha, v in vectors.items()
                ],
            )

    def count(self, encoder_id: str | None = None) -> int:
        if encoder_id is None:
            return int(self._db.execute("SELECT COUNT(*) FROM emb").fetchone()[0])
        return int(self._db.execute("SELECT COUNT(*) FROM emb WHERE encoder = ?", [encoder_id]).fetchone()[0])

    def close(self) -> None:
        self._db.close()


class CachedEncoder:
    """An encoder behind the cache. ``forwards`` counts items the encoder actually encoded, ``hits``
    items answered from the cache; ``encode_keyed`` loads items (decodes images) only for misses."""

    def __init__(self, encoder: Any, cache: EmbeddingCache | None, batch_size: int = 32):
        self.encoder, self.cache, self.batch_size = encoder, cache, batch_size
        self.forwards = 0
        self.hits = 0

    def encode_keyed(
        self,
        keys: Sequence[str],
        load: Callable[[list[str]], list],
        on_batch: Callable[[int], None] | None = None,
    ) -> np.ndarray:
        """Embeddings (n, dim) for ``keys`` (content sha256s; duplicates encoded once).

        ``load(missing_keys) -> items`` returns the images/texts to encode for keys not in the cache.
        """
        enc, dim = self.encoder, self.encoder.dim
        unique = list(dict.fromkeys(keys))
        vecs = self.cache.get_many(enc.id, unique, dim) if self.cache is not None else {}
        self.hits += len(vecs)
        if on_batch is not None and vecs:
            on_batch(len(vecs))
        todo = [k for k in unique if k not in vecs]
        for i in range(0, len(todo), self.batch_size):
            bkeys = todo[i : i + self.batch_size]
            X = np.asarray(enc.encode(load(bkeys)), dtype=np.float32)
            if X.shape != (len(bkeys), dim) or not np.isfinite(X).all():
                raise BackendError(
                    f"encoder {enc.id} returned shape {X.shape} (expected {(len(bkeys), dim)}) or "
                    "non-finite values; check the encode.* model"
                )
            self.forwards += len(bkeys)
            new = dict(zip(bkeys, X, strict=True))
            if self.cache is not None:
                self.cache.put_many(enc.id, new)
            vecs.update(new)
            if on_batch is not None:
                on_batch(len(bkeys))
        if not keys:
            return np.zeros((0, dim), np.float32)
        return np.stack([vecs[k] for k in keys]).astype(np.float32)
