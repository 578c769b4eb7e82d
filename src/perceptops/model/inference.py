"""End-to-end scoring: PIL images + description texts -> safety scores from several models.

Used by serving and maps. The encoders (``perceptops.encode``) are created lazily on first use and
each image is encoded once, whatever number of models score it; every model is checked against the
encoders in params (a model trained on other embeddings is refused, naming both ids).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from perceptops.errors import ConfigError, DataError

if TYPE_CHECKING:
    from perceptops.config import Params
    from perceptops.model.io import SafetyModel


class Scorer:
    """``Scorer(params, {"general": model, "women-crime": model}).score(images, texts)``."""

    def __init__(
        self,
        params: Params,
        models: Mapping[str, SafetyModel],
        image_encoder: Any = None,
        text_encoder: Any = None,
    ):
        if not models:
            raise ConfigError("Scorer needs at least one model")
        self.params = params
        self.models = dict(models)
        self._image_encoder = image_encoder
        self._text_encoder = text_encoder
        self._checked = False

    @property
    def image_encoder(self) -> Any:
        if self._image_encoder is None:
            from perceptops.encode import get_image_encoder

            self._image_encoder = get_image_encoder(self.params)
        return self._image_encoder

    @property
    def text_encoder(self) -> Any:
        if self._text_encoder is None:
            from perceptops.encode import get_text_encoder

            self._text_encoder = get_text_encoder(self.params)
        return self._text_encoder

    def check(self) -> None:
        """Refuse any model trained on embeddings from other encoders than the configured ones."""
        if not self._checked:
            for model in self.models.values():
                model.check_encoders(self.image_encoder.id, self.text_encoder.id)
            self._checked = True

    def encode_images(self, images: Sequence[Any]) -> np.ndarray:
        return np.asarray(self.image_encoder.encode(list(images)), np.float32)

    def score(
        self,
        images: Sequence[Any],
        texts: Sequence[str] | Mapping[str, Sequence[str]],
        models: Sequence[str] | None = None,
        image_emb: np.ndarray | None = None,
    ) -> dict[str, np.ndarray]:
        """Scores (0-10) per model name. ``texts``: one description per image for every model, or a
        mapping model name -> descriptions (the general model reads the general description, a
        group fine-tune its group/scenario description). ``image_emb`` skips re-encoding images."""
        self.check()
        names = list(models) if models is not None else list(self.models)
        unknown = [n for n in names if n not in self.models]
        if unknown:
            raise ConfigError(f"unknown model(s) {unknown}; loaded: {', '.join(self.models)}")
        n = len(images) if image_emb is None else len(image_emb)
        per_model = {m: (texts[m] if isinstance(texts, Mapping) else texts) for m in names}
        for m, t in per_model.items():
            if t is None or len(t) != n:
                raise DataError(f"model {m!r}: {n} images but {0 if t is None else len(t)} descriptions")
        if n == 0:
            return {m: np.zeros(0) for m in names}
        xi = self.encode_images(images) if image_emb is None else np.asarray(image_emb, np.float32)
        # Encode each distinct text once, even when several models share the same descriptions.
        unique = list(dict.fromkeys(s for t in per_model.values() for s in t))
        emb = np.asarray(self.text_encoder.encode(unique), np.float32)
        row = {s: k for k, s in enumerate(unique)}
        return {m: self.models[m].score(xi, emb[[row[s] for s in per_model[m]]]) for m in names}
