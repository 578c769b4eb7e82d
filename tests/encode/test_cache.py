"""The embedding cache: each item encoded once, keyed by encoder id, crash-safe batches."""

from pathlib import Path

import numpy as np
import pytest
from encode_support import picture

from perceptops.encode.cache import CachedEncoder, EmbeddingCache
from perceptops.encode.image import BuiltinImageEncoder
from perceptops.encode.text import BuiltinTextEncoder
from perceptops.errors import BackendError


class Counting:
    """Wraps an encoder and records every item it is asked to encode."""

    def __init__(self, enc):
        self.enc, self.id, self.dim, self.seen = enc, enc.id, enc.dim, []

    def encode(self, items):
        self.seen.extend(items)
        return self.enc.encode(items)


def test_second_encode_does_zero_forwards(tmp_path: Path):
    texts = ["busy road", "green park", "busy road", "dark street"]
    keys = [f"k{t}" for t in texts]
    enc = Counting(BuiltinTextEncoder())
    c1 = CachedEncoder(enc, EmbeddingCache(tmp_path), batch_size=2)
    X1 = c1.encode_keyed(keys, lambda ks: [k[1:] for k in ks])
    assert (c1.forwards, c1.hits) == (3, 0)  # the duplicate is encoded once
    assert sorted(enc.seen) == ["busy road", "dark street", "green park"]
    c2 = CachedEncoder(enc, EmbeddingCache(tmp_path), batch_size=2)
    X2 = c2.encode_keyed(keys, lambda ks: pytest.fail(f"loaded {ks} although cached"))
    assert (c2.forwards, c2.hits) == (0, 3)
    assert np.array_equal(X1, X2)
    assert np.array_equal(X1[0], X1[2])


def test_cache_is_keyed_by_encoder_id(tmp_path: Path):
    cache = EmbeddingCache(tmp_path)
    a = CachedEncoder(BuiltinTextEncoder(), cache)
    b = CachedEncoder(BuiltinTextEncoder(dim=512), cache)
    a.encode_keyed(["x"], lambda ks: ["some text"])
    Xb = b.encode_keyed(["x"], lambda ks: ["some text"])
    assert b.forwards == 1 and Xb.shape == (1, 512)
    assert cache.count() == 2


def test_a_crash_keeps_finished_batches(tmp_path: Path):
    class Failing(Counting):
        def encode(self, items):
            if len(self.seen) >= 2:
                raise RuntimeError("killed")
            return super().encode(items)

    enc = Failing(BuiltinImageEncoder())
    images = {f"k{i}": picture(i) for i in range(5)}
    with pytest.raises(RuntimeError):
        CachedEncoder(enc, EmbeddingCache(tmp_path), batch_size=2).encode_keyed(
            list(images), lambda ks: [images[k] for k in ks]
        )
    again = CachedEncoder(Counting(BuiltinImageEncoder()), EmbeddingCache(tmp_path), batch_size=2)
    again.encode_keyed(list(images), lambda ks: [images[k] for k in ks])
    assert (again.hits, again.forwards) == (2, 3)


def test_nan_from_an_encoder_is_refused(tmp_path: Path):
    class Broken:
        id, dim = "broken", 3

        def encode(self, items):
            return np.full((len(items), 3), np.nan, np.float32)

    cache = EmbeddingCache(tmp_path)
    with pytest.raises(BackendError, match="non-finite"):
        CachedEncoder(Broken(), cache).encode_keyed(["a"], lambda ks: ["x"])
    assert cache.count() == 0  # nothing bad was stored


def test_wrong_width_from_an_encoder_is_refused(tmp_path: Path):
    class Wide:
        id, dim = "wide", 3

        def encode(self, items):
            return np.zeros((len(items), 4), np.float32)

    with pytest.raises(BackendError, match=r"expected \(1, 3\)"):
        CachedEncoder(Wide(), EmbeddingCache(tmp_path)).encode_keyed(["a"], lambda ks: ["x"])


def test_corrupt_cached_vector_is_recomputed(tmp_path: Path):
    cache = EmbeddingCache(tmp_path)
    enc = BuiltinTextEncoder(dim=8)
    cache.put_many(enc.id, {"a": np.array([np.nan] * 8, np.float32), "b": np.zeros(5, np.float32)})
    c = CachedEncoder(enc, cache)
    X = c.encode_keyed(["a", "b"], lambda ks: ["text"] * len(ks))
    assert c.forwards == 2 and np.isfinite(X).all()
