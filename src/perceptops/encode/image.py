"""Frozen image encoders: built-in pixel features, TFLite MobileNet embedding, transformers ViT/CLIP.

Every encoder has ``id`` (kind + model + content hash + feature-code version: the embedding-cache key
and the lineage record), ``dim`` and ``encode(images) -> float32 (n, dim)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from perceptops.encode.fingerprint import local_model_path, looks_like_path, path_fingerprint
from perceptops.errors import BackendError

BUILTIN_VERSION = "2"
TFLITE_VERSION = "1"
HF_VERSION = "1"
PIXEL_CLASSES = ("road", "sidewalk", "building", "vegetation", "sky", "person", "car")
WORK_SIZE = (128, 96)  # (w, h) of the built-in features' working copy


def _block(x: np.ndarray) -> np.ndarray:
    """Scale a block of [0, 1] features so its largest possible L2 norm is about 1."""
    x = np.asarray(x, dtype=np.float64).ravel()
    return x / np.sqrt(max(x.size, 1))


def _hist(
    values: np.ndarray, bins: int, lo: float, hi: float, weights: np.ndarray | None = None
) -> np.ndarray:
    """Hellinger-mapped histogram: sqrt of the normalised counts (unit L2 norm unless empty)."""
    h, _ = np.histogram(values, bins=bins, range=(lo, hi), weights=weights)
    total = h.sum()
    return np.sqrt(h / total) if total > 0 else np.zeros(bins)


def builtin_features(image: Any) -> np.ndarray:
    """Documented pixel features of one PIL image (float32, L2-normalised).

    Blocks, in order (178 values before normalisation):
    1. colour histograms (35): hue of coloured pixels (S > 0.15, V > 0.15) in 18 bins weighted by S plus
       one bin for grey/dark pixels; saturation in 8 bins; value in 8 bins (each Hellinger-mapped).
    2. a 4x4 grid (96): per cell mean R, G, B, mean saturation, green share (70 <= H <= 170, S > 0.25)
       and grey share (S < 0.18) - where the sky, trees, road and sidewalk are.
    3. edge orientations (24): Sobel gradient energy in 8 orientation bins for the top, middle and
       bottom thirds (Hellinger-mapped, scaled by the band's edge density).
    4. light and colour stats (10): mean, std, 10th and 90th percentile of V and of S, colourfulness
       (Hasler-Suesstrunk / 150, capped at 1), edge density.
    5. scene cues (6): green share, saturated non-green share in the lower half (cars), skin-tone share
       (H 10-35, S 0.2-0.6), low-saturation grey share of the lower half (road), blue-or-bright share of
       the upper half (sky), dark share (V < 0.2; night).
    6. pixel-rule classes (7): square roots of the road, sidewalk, building, vegetation, sky, person
       and car shares of the ``pixel`` scene backend's label map (perceptops.scene.pixel) at up to
       320 px - the square root lifts small but telling shares (people, cars).
    Each block is scaled to norm about 1 (histograms exactly), then the whole vector is L2-normalised.
    """
    from PIL import Image
    from scipy import ndimage

    from perceptops.scene.photometric import hsv, luma

    rgb = np.asarray(image.convert("RGB").resize(WORK_SIZE, Image.Resampling.BILINEAR), dtype=np.uint8)
    h, s, v = hsv(rgb)
    rows, cols = v.shape
    coloured = (s > 0.15) & (v > 0.15)
    green = (h >= 70) & (h <= 170) & (s > 0.25)
    grey = s < 0.18
    hue = np.concatenate(
        [
            np.histogram(h[coloured], bins=18, range=(0, 360), weights=s[coloured])[0],
            [float((~coloured).sum())],
        ]
    )
    hue = np.sqrt(hue / hue.sum()) if hue.sum() > 0 else np.zeros(19)
    colour = np.concatenate([hue, _hist(s, 8, 0, 1), _hist(v, 8, 0, 1)]) / np.sqrt(3)

    x = rgb.astype(np.float64) / 255.0
    grid = []
    for gy in range(4):
        for gx in range(4):
            sl = (slice(gy * rows // 4, (gy + 1) * rows // 4), slice(gx * cols // 4, (gx + 1) * cols // 4))
            cell = x[sl]
            grid += [*cell.reshape(-1, 3).mean(0), s[sl].mean(), green[sl].mean(), grey[sl].mean()]

    y = luma(rgb)
    gxs, gys = ndimage.sobel(y, axis=1) / 4.0, ndimage.sobel(y, axis=0) / 4.0
    mag = np.hypot(gxs, gys)
    ang = np.degrees(np.arctan2(gys, gxs)) % 180.0
    edges = []
    for b in range(3):
        sl = slice(b * rows // 3, (b + 1) * rows // 3)
        edges.append(_hist(ang[sl], 8, 0, 180, weights=mag[sl] ** 2) * min(1.0, (mag[sl] > 0.1).mean() * 4))
    edge_density = float((mag > 0.1).mean())

    rg = x[..., 0] - x[..., 1]
    yb = 0.5 * (x[..., 0] + x[..., 1]) - x[..., 2]
    colourfulness = 255 * (np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean()))
    stats = [
        v.mean(), v.std() * 2, *np.percentile(v, [10, 90]),
        s.mean(), s.std() * 2, *np.percentile(s, [10, 90]),
        min(colourfulness / 150.0, 1.0), edge_density,
    ]  # fmt: skip
    lower, upper = slice(rows // 2, rows), slice(0, rows // 2)
    skin = (h >= 10) & (h <= 35) & (s >= 0.2) & (s <= 0.6) & (v > 0.3)
    sky = (((h >= 190) & (h <= 250) & (s > 0.12)) | ((s < 0.15) & (v > 0.75)))[upper]
    cues = [
        green.mean(),
        ((s > 0.5) & (v > 0.2) & ~green)[lower].mean(),
        skin.mean(),
        (grey & (v < 0.6))[lower].mean(),
        sky.mean(),
        (v < 0.2).mean(),
    ]
    from perceptops.scene import CITYSCAPES_CLASSES
    from perceptops.scene.photometric import working_array
    from perceptops.scene.pixel import PIXEL_SIDE, pixel_label_map

    labels = pixel_label_map(working_array(image, PIXEL_SIDE))
    counts = np.bincount(labels.ravel(), minlength=len(CITYSCAPES_CLASSES)) / labels.size
    classes = np.sqrt([counts[CITYSCAPES_CLASSES.index(c)] for c in PIXEL_CLASSES])
    blocks = [
        colour,
        _block(grid),
        np.concatenate(edges) / np.sqrt(3),
        _block(stats),
        _block(cues),
        _block(classes),
    ]
    vec = np.concatenate(blocks)
    n = np.linalg.norm(vec)
    return (vec / n if n > 0 else vec).astype(np.float32)


class BuiltinImageEncoder:
    kind = "builtin"
    dim = 35 + 96 + 24 + 10 + 6 + len(PIXEL_CLASSES)

    def __init__(self) -> None:
        self.id = f"builtin-image:pixel-features:{self.dim}:v{BUILTIN_VERSION}"
        self.model = "pixel-features"

    def encode(self, images: list) -> np.ndarray:
        if not images:
            return np.zeros((0, self.dim), np.float32)
        return np.stack([builtin_features(im) for im in images]).astype(np.float32)


class TFLiteImageEncoder:
    """MobileNet v1 embedding extractor (224x224 uint8 in, 1024 uint8 out), dequantised to float32.

    The image is stretched to the model's input size; the embedding is the dequantised average pool
    (not normalised: its magnitude carries information).
    """

    kind = "tflite"

    def __init__(self, model: str, threads: int = 1):
        path = local_model_path(model)
        if path is None or not path.is_file():
            raise BackendError(
                f"encode.image.model: TFLite file {model!r} not found; set encode.image.model to the "
                "embedding .tflite (e.g. ${PERCEPTOPS_SHARED}/models/coral/"
                "mobilenet_v1_1.0_224_quant_embedding_extractor.tflite) or encode.image.kind to 'builtin'"
            )
        try:
            from ai_edge_litert.interpreter import Interpreter
        except ImportError as err:
            raise BackendError(
                f"encode.image.kind 'tflite' needs the ai-edge-litert package ({err}); install it or set "
                "encode.image.kind to 'builtin'"
            ) from None
        try:
            self._it = Interpreter(model_path=str(path), num_threads=threads)
            self._it.allocate_tensors()
        except (ValueError, RuntimeError) as err:
            raise BackendError(f"encode.image.model: {path} is not a loadable TFLite model: {err}") from None
        inp, out = self._it.get_input_details()[0], self._it.get_output_details()[0]
        self._in, self._out = inp["index"], out["index"]
        self._size = (int(inp["shape"][2]), int(inp["shape"][1]))
        self._dtype = inp["dtype"]
        self._scale, self._zero = out["quantization"]
        self.dim = int(np.prod(out["shape"][1:]))
        self.model = path.name
        self.id = f"tflite-image:{path.name}:{path_fingerprint(path)[:16]}:v{TFLITE_VERSION}"

    def encode(self, images: list) -> np.ndarray:
        from PIL import Image

        out = np.zeros((len(images), self.dim), np.float32)
        for i, im in enumerate(images):
            arr = np.asarray(
                im.convert("RGB").resize(self._size, Image.Resampling.BILINEAR), dtype=self._dtype
            )
            self._it.set_tensor(self._in, arr[None])
            self._it.invoke()
            q = np.asarray(self._it.get_tensor(self._out), dtype=np.float32).reshape(-1)
            out[i] = (q - self._zero) * self._scale if self._scale else q
        return out


def load_hf(model: str, setting: str):
    """(local path or None, source string) for a transformers model; BackendError naming ``setting``."""
    path = local_model_path(model)
    if path is None and looks_like_path(model):
        raise BackendError(f"{setting}: model folder {model!r} not found; fix {setting}")
    return path, (str(path) if path is not None else model)


def hf_id(prefix: str, model: str, path: Any, config: Any) -> str:
    """A local folder is named by model type + content hash (same bytes, same id wherever they live);
    a hub name by itself + the resolved commit."""
    if path is not None:
        return f"{prefix}:{config.model_type}:{path_fingerprint(path)[:16]}:v{HF_VERSION}"
    return f"{prefix}:{model}:{str(getattr(config, '_commit_hash', None) or 'hub')[:16]}:v{HF_VERSION}"


class HFImageEncoder:
    """ViT-like (CLS token of the last hidden state) or CLIP vision (pooled, post-layernorm CLS) by
    hub name or local path; other models use their pooled output, else the mean token."""

    kind = "hf"

    def __init__(self, model: str, batch_size: int = 32):
        path, src = load_hf(model, "encode.image.model")
        try:
            import torch  # noqa: F401
            from transformers import AutoConfig, AutoImageProcessor, AutoModel, CLIPVisionModel
        except ImportError as err:
            raise BackendError(f"encode.image.kind 'hf' needs torch and transformers ({err})") from None
        try:
            cfg = AutoConfig.from_pretrained(src)
            self._clip = cfg.model_type in ("clip", "clip_vision_model")
            cls = CLIPVisionModel if self._clip else AutoModel
            self._model = cls.from_pretrained(src).eval()
            self._proc = AutoImageProcessor.from_pretrained(src)
        except (OSError, ValueError, KeyError) as err:
            raise BackendError(
                f"encode.image.model: cannot load {model!r} ({err}); set encode.image.model to a local "
                "folder or a reachable hub name"
            ) from None
        vcfg = getattr(cfg, "vision_config", None) or cfg
        self.dim = int(vcfg.hidden_size)
        self._vit = cfg.model_type == "vit"
        self.model = model
        self.id = hf_id("hf-image", model, path, cfg)
        self._batch = batch_size

    def encode(self, images: list) -> np.ndarray:
        import torch

        out = []
        for i in range(0, len(images), self._batch):
            batch = [im.convert("RGB") for im in images[i : i + self._batch]]
            inputs = self._proc(images=batch, return_tensors="pt")
            with torch.inference_mode():
                res = self._model(**inputs)
            if self._vit:
                emb = res.last_hidden_state[:, 0]
            elif getattr(res, "pooler_output", None) is not None:
                emb = res.pooler_output.reshape(len(batch), -1)
            else:
                emb = res.last_hidden_state.mean(dim=1)
            out.append(emb.float().cpu().numpy())
        return np.concatenate(out).astype(np.float32) if out else np.zeros((0, self.dim), np.float32)
