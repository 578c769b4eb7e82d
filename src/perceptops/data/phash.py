"""64-bit perceptual hashes (pHash via a 2-D DCT, dHash via gradients) and near-duplicate search.

Implemented with numpy only. Hashes are 16 hex characters; the distance is the Hamming distance.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np


@lru_cache(maxsize=4)
def _dct_matrix(n: int) -> np.ndarray:
    """Orthonormal DCT-II basis (n x n): ``D @ x`` is the DCT of x."""
    k = np.arange(n)[:, None]
    i = np.arange(n)[None, :]
    d = np.cos(np.pi * (2 * i + 1) * k / (2 * n)) * np.sqrt(2.0 / n)
    d[0] /= np.sqrt(2.0)
    return d


def _grey(img, size: tuple[int, int]) -> np.ndarray:
    from PIL import Image

    return np.asarray(
        img.convert("L").resize(size, Image.Resampling.BOX), dtype=np.float64
    )  # area mean: fast, anti-aliased


def _bits_to_hex(bits: np.ndarray) -> str:
    v = 0
    for b in bits.ravel():
        v = (v << 1) | int(bool(b))
    return f"{v:016x}"


def phash(img) -> str:
    """pHash: 32x32 grey, 2-D DCT, the 8x8 lowest frequencies compared with their median (DC excluded)."""
    g = _grey(img, (32, 32))
    d = _dct_matrix(32)
    low = (d @ g @ d.T)[:8, :8]
    med = np.median(low.ravel()[1:])
    return _bits_to_hex(low > med)


def dhash(img) -> str:
    """dHash: 9x8 grey, is each pixel brighter than its right neighbour."""
    g = _grey(img, (9, 8))
    return _bits_to_hex(g[:, 1:] > g[:, :-1])


def hamming(a: str, b: str) -> int:
    return (int(a, 16) ^ int(b, 16)).bit_count()


def near_duplicates(hashes: list[str], max_distance: int) -> list[int | None]:
    """For each hash, the index of the first earlier hash within ``max_distance`` (else None).

    Vectorised over uint64 popcounts: O(n^2) bit operations, about a second for 10k images.
    """
    n = len(hashes)
    out: list[int | None] = [None] * n
    if n < 2:
        return out
    h = np.array([int(x, 16) for x in hashes], dtype=np.uint64)
    for i in range(1, n):
        dist = np.bitwise_count(h[:i] ^ h[i])
        hit = np.flatnonzero(dist <= max_distance)
        if hit.size:
            out[i] = int(hit[0])
    return out
