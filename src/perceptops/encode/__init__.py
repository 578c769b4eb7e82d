"""Frozen image/text encoders and the embedding cache.

``get_image_encoder(params)`` / ``get_text_encoder(params)`` return objects with ``id`` (str),
``dim`` (int) and ``encode(list) -> np.ndarray[float32, (n, dim)]``; the kind is chosen in
``params.encode``. Heavy packages (torch, transformers, ai_edge_litert) load only when chosen.
"""

from __future__ import annotations

from typing import Any


def get_image_encoder(params: Any) -> Any:
    enc = params.encode.image
    if enc.kind == "builtin":
        from perceptops.encode.image import BuiltinImageEncoder

        return BuiltinImageEncoder()
    if enc.kind == "tflite":
        from perceptops.encode.image import TFLiteImageEncoder

        return TFLiteImageEncoder(enc.model)
    from perceptops.encode.image import HFImageEncoder

    return HFImageEncoder(enc.model, batch_size=enc.batch_size)


def get_text_encoder(params: Any) -> Any:
    enc = params.encode.text
    if enc.kind == "builtin":
        from perceptops.encode.text import BuiltinTextEncoder

        return BuiltinTextEncoder()
    from perceptops.encode.text import HFTextEncoder

    return HFTextEncoder(enc.model, batch_size=enc.batch_size)


__all__ = ["get_image_encoder", "get_text_encoder"]
