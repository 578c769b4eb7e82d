"""Model-backed scene parsers: TFLite DeepLab (ai_edge_litert) and transformers semantic segmentation.

Each backend has ``id`` (kind + model name + weights hash + code version: a cache key part) and
``label_maps(images) -> list[np.ndarray]`` of Cityscapes label ids. A missing model file or package
raises one BackendError that names the ``scene.model`` / ``scene.backend`` setting.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from perceptops.encode.fingerprint import local_model_path, looks_like_path, path_fingerprint
from perceptops.errors import BackendError
from perceptops.scene import CITYSCAPES_CLASSES

CODE_VERSION = "1"
TFLITE_DEFAULT = "${PERCEPTOPS_SHARED}/models/coral/deeplab_mobilenet_edgetpu_slim_cityscapes_quant.tflite"


def snake(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.strip().lower()).strip("_")


_WORKER: dict[str, Any] = {}


def _worker_init(model_path: str) -> None:
    """Process-pool initialiser: one single-threaded interpreter per worker process."""
    from ai_edge_litert.interpreter import Interpreter

    it = Interpreter(model_path=model_path, num_threads=1)
    it.allocate_tensors()
    _WORKER.update(it=it, inp=it.get_input_details()[0]["index"], out=it.get_output_details()[0]["index"])


def _worker_run(arr: np.ndarray) -> np.ndarray:
    it = _WORKER["it"]
    it.set_tensor(_WORKER["inp"], arr[None])
    it.invoke()
    return np.asarray(it.get_tensor(_WORKER["out"]))[0].astype(np.uint8)


class TFLiteBackend:
    """DeepLab (MobileNet EdgeTPU slim, Cityscapes), 513x513 uint8 in, class ids out.

    The image is stretched to 513x513 (class *fractions* do not depend on the aspect), then the map
    is used as is. With ``threads`` > 1 the images go to that many worker processes, each with its own
    single-threaded interpreter (measured: XNNPACK's own threads scale poorly on this model, whose
    513x513 ArgMax runs on one core).
    """

    name = "tflite"

    def __init__(self, model: str | None, threads: int = 1):
        spec = model or TFLITE_DEFAULT
        path = local_model_path(spec)
        if path is None or not path.is_file():
            raise BackendError(
                f"scene.model: TFLite model file {spec!r} not found; set scene.model to the DeepLab "
                ".tflite file (e.g. ${PERCEPTOPS_SHARED}/models/coral/"
                "deeplab_mobilenet_edgetpu_slim_cityscapes_quant.tflite) or scene.backend to 'pixel'"
            )
        try:
            from ai_edge_litert.interpreter import Interpreter
        except ImportError as err:
            raise BackendError(
                f"scene.backend 'tflite' needs the ai-edge-litert package ({err}); install it or set "
                "scene.backend to 'pixel'"
            ) from None
        try:
            self._it = Interpreter(model_path=str(path), num_threads=1)
            self._it.allocate_tensors()
        except (ValueError, RuntimeError) as err:
            raise BackendError(f"scene.model: {path} is not a loadable TFLite model: {err}") from None
        inp = self._it.get_input_details()[0]
        self._in = inp["index"]
        self._size = (int(inp["shape"][2]), int(inp["shape"][1]))  # (w, h)
        self._out = self._it.get_output_details()[0]["index"]
        self._path = str(path)
        self._threads = threads
        self._pool: Any = None
        self.id = f"tflite:{path.name}:{path_fingerprint(path)[:16]}:v{CODE_VERSION}"

    def _inputs(self, images: list) -> list[np.ndarray]:
        from PIL import Image

        return [
            np.asarray(im.convert("RGB").resize(self._size, Image.Resampling.BILINEAR), dtype=np.uint8)
            for im in images
        ]

    def label_maps(self, images: list) -> list[np.ndarray]:
        arrays = self._inputs(images)
        if self._threads > 1 and len(arrays) > 1:
            if self._pool is None:
                import multiprocessing as mp
                from concurrent.futures import ProcessPoolExecutor

                # spawn, not fork: the parent may hold torch/XNNPACK threads that fork would copy badly
                self._pool = ProcessPoolExecutor(
                    self._threads,
                    mp_context=mp.get_context("spawn"),
                    initializer=_worker_init,
                    initargs=(self._path,),
                )
            return list(self._pool.map(_worker_run, arrays))
        out = []
        for arr in arrays:
            self._it.set_tensor(self._in, arr[None])
            self._it.invoke()
            out.append(np.asarray(self._it.get_tensor(self._out))[0].astype(np.uint8))
        return out

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None
        self._it = None


def cityscapes_mapping(id2label: dict[Any, str], n_labels: int) -> np.ndarray:
    """Model label id -> Cityscapes id (255 = not a Cityscapes class).

    Names are matched after snake-casing ("traffic light" -> traffic_light). A model whose names match
    nothing but that has exactly 19 labels (e.g. LABEL_0..LABEL_18) is taken to be in Cityscapes order.
    """
    index = {c: i for i, c in enumerate(CITYSCAPES_CLASSES)}
    mapping = np.full(n_labels, 255, dtype=np.uint8)
    for k, name in (id2label or {}).items():
        i = int(k)
        if 0 <= i < n_labels and snake(str(name)) in index:
            mapping[i] = index[snake(str(name))]
    if (mapping == 255).all():
        if n_labels != len(CITYSCAPES_CLASSES):
            raise BackendError(
                f"scene.model: the model's {n_labels} labels match no Cityscapes class name; use a "
                "Cityscapes segmentation model (19 labels) or set scene.backend to 'pixel'"
            )
        mapping = np.arange(n_labels, dtype=np.uint8)
    return mapping


class TransformersBackend:
    """AutoModelForSemanticSegmentation + AutoImageProcessor, by hub name or local path.

    The argmax of the logits (at the model's output resolution, 1/4 of the input for SegFormer) is
    mapped to Cityscapes ids by label name; labels outside Cityscapes count as no class.
    """

    name = "transformers"

    def __init__(self, model: str | None, threads: int = 1, batch_size: int = 8):
        if not model:
            raise BackendError(
                "scene.model is required for scene.backend 'transformers' (a hub name or path)"
            )
        path = local_model_path(model)
        if path is None and looks_like_path(model):
            raise BackendError(f"scene.model: model folder {model!r} not found; fix scene.model")
        try:
            import torch
            from transformers import AutoImageProcessor, AutoModelForSemanticSegmentation
        except ImportError as err:
            raise BackendError(
                f"scene.backend 'transformers' needs torch and transformers ({err}); install them or set "
                "scene.backend to 'pixel'"
            ) from None
        src = str(path) if path is not None else model
        try:
            self._proc = AutoImageProcessor.from_pretrained(src)
            self._model = AutoModelForSemanticSegmentation.from_pretrained(src).eval()
        except (OSError, ValueError, KeyError) as err:
            raise BackendError(
                f"scene.model: cannot load the segmentation model {model!r} ({err}); set scene.model to "
                "a local folder or a reachable hub name"
            ) from None
        torch.set_num_threads(max(1, threads))
        cfg = self._model.config
        self._map = cityscapes_mapping(cfg.id2label, int(cfg.num_labels))
        # A local folder is named by its model type and content hash (the same bytes give the same id
        # wherever they live); a hub name by itself and the resolved commit.
        if path is not None:
            label, fp = str(cfg.model_type), path_fingerprint(path)
        else:
            label, fp = model, str(getattr(cfg, "_commit_hash", None) or "hub")
        self.id = f"transformers:{label}:{fp[:16]}:v{CODE_VERSION}"
        self._batch = batch_size

    def label_maps(self, images: list) -> list[np.ndarray]:
        import torch

        out: list[np.ndarray] = []
        for i in range(0, len(images), self._batch):
            chunk = [im.convert("RGB") for im in images[i : i + self._batch]]
            inputs = self._proc(images=chunk, return_tensors="pt")
            with torch.inference_mode():
                logits = self._model(**inputs).logits
            ids = logits.argmax(dim=1).cpu().numpy()
            out.extend(self._map[m] for m in ids)
        return out

    def close(self) -> None:
        self._model = None


def get_backend(scene_params: Any) -> Any:
    """The backend object for ``params.scene``."""
    kind = scene_params.backend
    if kind == "pixel":
        from perceptops.scene.pixel import PixelBackend

        return PixelBackend()
    if kind == "tflite":
        return TFLiteBackend(scene_params.model, threads=scene_params.threads)
    if kind == "transformers":
        return TransformersBackend(
            scene_params.model, threads=scene_params.threads, batch_size=scene_params.batch_size
        )
    raise BackendError(f"scene.backend {kind!r} is unknown; allowed: pixel, tflite, transformers")
