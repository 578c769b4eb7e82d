"""Scene parsing with a backend, the per-image cache, and the ``scene@city`` stage."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from perceptops.errors import DataError
from perceptops.scene import CITYSCAPES_CLASSES, FRACTION_COLUMNS, SCENE_COLUMNS
from perceptops.scene.photometric import photometric_stats, working_array
from perceptops.utils import sha256_bytes

_IDX = {c: i for i, c in enumerate(CITYSCAPES_CLASSES)}
N_CLASSES = len(CITYSCAPES_CLASSES)
VEHICLES = ("car", "truck", "bus", "motorcycle", "bicycle")


def pixel_key(image: Any) -> str:
    """Content key of a decoded image when no file sha256 is known: sha256 of size + RGB bytes."""
    rgb = image.convert("RGB") if image.mode != "RGB" else image
    w, h = rgb.size
    return sha256_bytes(f"{w}x{h}:".encode() + rgb.tobytes())


def scene_row(labels: np.ndarray, rgb: np.ndarray, backend: str) -> dict[str, Any]:
    """Fractions, indices and photometric stats for one label map and its image.

    ``sky_view`` is the sky share of the *upper half* of the frame (a street-level proxy of the sky
    view factor: the lower half of a street photo is ground, so whole-image sky share would halve it).
    Label ids >= 19 (classes outside Cityscapes) count in the denominator only.
    """
    counts = np.bincount(labels.ravel(), minlength=256)[:N_CLASSES].astype(np.float64)
    frac = counts / max(labels.size, 1)
    row: dict[str, Any] = {f"frac_{c}": float(frac[i]) for i, c in enumerate(CITYSCAPES_CLASSES)}
    row.update(photometric_stats(rgb))
    upper = labels[: max(1, labels.shape[0] // 2)]
    row["green_view"] = float(frac[_IDX["vegetation"]] + frac[_IDX["terrain"]])
    row["sky_view"] = float((upper == _IDX["sky"]).mean())
    row["road_share"] = float(frac[_IDX["road"]])
    row["sidewalk_share"] = float(frac[_IDX["sidewalk"]])
    row["car_presence"] = float(sum(frac[_IDX[c]] for c in VEHICLES))
    row["person_presence"] = float(frac[_IDX["person"]] + frac[_IDX["rider"]])
    row["backend"] = backend
    return row


class SceneParser:
    """A backend plus an optional content cache. ``forwards`` counts images the backend parsed,
    ``cache_hits`` images answered from the cache (a re-run over the same images: forwards == 0)."""

    def __init__(self, params: Any, cache_dir: Path | None = None, backend: Any = None):
        from perceptops.scene.backends import get_backend

        self.backend = backend if backend is not None else get_backend(params.scene)
        self.id = self.backend.id
        self.batch_size = params.scene.batch_size
        self.cache = None
        if cache_dir is not None:
            from perceptops.scene.cache import SceneCache

            self.cache = SceneCache(Path(cache_dir))
        self.forwards = 0
        self.cache_hits = 0

    def lookup(self, keys: list[str]) -> dict[str, dict]:
        if self.cache is None:
            return {}
        found = self.cache.get_many(self.id, keys)
        self.cache_hits += len(found)
        return found

    def compute(self, images: list[Any], keys: list[str]) -> dict[str, dict]:
        rows: dict[str, dict] = {}
        for i in range(0, len(images), self.batch_size):
            batch, bkeys = images[i : i + self.batch_size], keys[i : i + self.batch_size]
            maps = self.backend.label_maps(batch)
            self.forwards += len(batch)
            new = {
                k: scene_row(m, working_array(im), self.backend.name)
                for k, m, im in zip(bkeys, maps, batch, strict=True)
            }
            if self.cache is not None:
                self.cache.put_many(self.id, new)  # committed per batch: a crash loses one batch
            rows.update(new)
        return rows

    def parse(self, images: list[Any], keys: list[str] | None = None) -> pd.DataFrame:
        """One row per image (SCENE_COLUMNS, in input order); ``keys`` are content hashes (image ids)."""
        if keys is None:
            keys = [pixel_key(im) for im in images]
        if len(keys) != len(images):
            raise ValueError("keys and images differ in length")
        rows = self.lookup(list(dict.fromkeys(keys)))
        todo = {k: im for k, im in zip(keys, images, strict=True) if k not in rows}
        rows.update(self.compute(list(todo.values()), list(todo)))
        return pd.DataFrame([rows[k] for k in keys], columns=list(SCENE_COLUMNS))

    def close(self, backend: bool = True) -> None:
        if backend:
            self.backend.close()
        if self.cache is not None:
            self.cache.close()


_SHARED: dict[Any, tuple[Any, threading.Lock]] = {}
_SHARED_LOCK = threading.Lock()


def shared_backend(scene_params: Any) -> tuple[Any, threading.Lock]:
    """One loaded backend (and a lock to serialise calls) per distinct ``params.scene``."""
    from perceptops.scene.backends import get_backend

    with _SHARED_LOCK:
        if scene_params not in _SHARED:
            _SHARED[scene_params] = (get_backend(scene_params), threading.Lock())
        return _SHARED[scene_params]


def parse_city(params: Any, layout: Any, city: str) -> dict[str, Any]:
    """Stage ``scene@city``: parse every valid image of ``city`` -> ``data/<c>/scene/scene.parquet``.

    Images already in the cache are not decoded at all. Returns counts (images, forwards, cache_hits).
    """
    from perceptops.data.images import load_rgb
    from perceptops.data.manifest import read_valid
    from perceptops.data.sources import source_root
    from perceptops.progress import make_progress
    from perceptops.utils import write_parquet

    params.city(city)
    valid = read_valid(layout, city)
    ids = [str(x) for x in valid["image_id"]]
    paths = [str(x) for x in valid["path"]]
    root = source_root(params, layout, city)
    parser = SceneParser(params, cache_dir=layout.cache_dir(params.project.cache_dir) / "scene")
    rows: dict[str, dict] = {}
    try:
        with make_progress(hits="0", parsed="0") as bar:
            task = bar.add_task(f"scene {city} [{parser.backend.name}]", total=len(ids), hits="0", parsed="0")
            step = max(parser.batch_size, 16)
            for i in range(0, len(ids), step):
                bids, bpaths = ids[i : i + step], paths[i : i + step]
                rows.update(parser.lookup(bids))
                todo = [(k, p) for k, p in zip(bids, bpaths, strict=True) if k not in rows]
                images = []
                for _, rel in todo:
                    try:
                        images.append(load_rgb(root / rel, params.validate_params.max_pixels))
                    except DataError as err:
                        raise DataError(
                            f"{root / rel}: passed validation but cannot be read now ({err}); the source "
                            f"changed since validate@{city}: re-run `dvc repro validate@{city}`"
                        ) from None
                rows.update(parser.compute(images, [k for k, _ in todo]))
                bar.update(task, advance=len(bids), hits=str(parser.cache_hits), parsed=str(parser.forwards))
    finally:
        parser.close()
    df = pd.DataFrame([rows[k] for k in ids], columns=list(SCENE_COLUMNS))
    df.insert(0, "image_id", ids)
    if len(df) and df[list(FRACTION_COLUMNS)].isna().any().any():
        raise DataError(f"scene parse of {city} produced NaN class fractions (backend {parser.id})")
    write_parquet(df, layout.scene(city))
    return {
        "city": city,
        "images": len(ids),
        "forwards": parser.forwards,
        "cache_hits": parser.cache_hits,
        "backend": parser.id,
    }


def run_scene_stage(city: str) -> None:
    """Entry of ``stages/scene.py``."""
    from perceptops.config import load_params
    from perceptops.paths import Layout

    stats = parse_city(load_params(), Layout(), city)
    print(
        f"scene@{city}: {stats['images']} images, {stats['forwards']} parsed, "
        f"{stats['cache_hits']} from cache ({stats['backend']})"
    )
