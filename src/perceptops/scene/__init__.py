"""Scene parsers: image -> Cityscapes class fractions, photometric stats, urban indices.

``parse_images(params, images)`` returns one row per PIL image with the columns of
``data/<c>/scene/scene.parquet`` (docs/architecture.md) except ``image_id``. Heavy backends
(ai_edge_litert, transformers) are imported only when chosen in ``params.scene.backend``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

# The 19 Cityscapes training classes, in the label-id order of cityscapes_labels.txt, snake_cased.
CITYSCAPES_CLASSES: tuple[str, ...] = (
    "road",
    "sidewalk",
    "building",
    "wall",
    "fence",
    "pole",
    "traffic_light",
    "traffic_sign",
    "vegetation",
    "terrain",
    "sky",
    "person",
    "rider",
    "car",
    "truck",
    "bus",
    "train",
    "motorcycle",
    "bicycle",
)
PHOTOMETRIC_COLUMNS: tuple[str, ...] = (
    "brightness",
    "contrast",
    "colourfulness",
    "saturation",
    "sharpness",
    "edge_density",
    "entropy",
)
INDEX_COLUMNS: tuple[str, ...] = (
    "green_view",
    "sky_view",
    "road_share",
    "sidewalk_share",
    "car_presence",
    "person_presence",
)
FRACTION_COLUMNS: tuple[str, ...] = tuple(f"frac_{c}" for c in CITYSCAPES_CLASSES)
# Every scene.parquet column after image_id, in order.
SCENE_COLUMNS: tuple[str, ...] = (*FRACTION_COLUMNS, *PHOTOMETRIC_COLUMNS, *INDEX_COLUMNS, "backend")


def parse_images(params: Any, images: list[Any], **kwargs: Any) -> pd.DataFrame:
    """Parse PIL images with the configured backend; see :class:`perceptops.scene.parse.SceneParser`.

    Keyword arguments (``keys``, ``cache_dir``) go to the parser; without ``cache_dir`` nothing is cached.
    The backend (a loaded model) is kept per ``params.scene`` for the life of the process, so a service
    calling this per request loads the model once; calls are serialised per backend (interpreters are
    not thread-safe).
    """
    from perceptops.scene.parse import SceneParser, shared_backend

    keys = kwargs.pop("keys", None)
    backend, lock = shared_backend(params.scene)
    with lock:
        parser = SceneParser(params, backend=backend, **kwargs)
        try:
            return parser.parse(images, keys=keys)
        finally:
            parser.close(backend=False)


__all__ = [
    "CITYSCAPES_CLASSES",
    "FRACTION_COLUMNS",
    "INDEX_COLUMNS",
    "PHOTOMETRIC_COLUMNS",
    "SCENE_COLUMNS",
    "parse_images",
]
