"""Saving and loading safety models: ``model.pt`` (state dict) + ``config.json`` (net + encoder ids/dims).

A model is only meaningful with the encoders whose embeddings it was trained on, so loading checks
the caller's encoder ids against the recorded ones and refuses a mismatch naming both.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np

from perceptops.errors import ConfigError, DataError

MODEL_FILE = "model.pt"
CONFIG_FILE = "config.json"


def save_model(directory: str | Path, net: Any, config: dict) -> None:
    """Write the weights and the config that rebuilds the net (deterministic bytes for DVC)."""
    import torch

    from perceptops.utils import atomic_path, write_json

    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in net.state_dict().items()}
    buf = io.BytesIO()  # torch names the zip's records after the file: a buffer keeps the bytes stable
    torch.save(state, buf)
    with atomic_path(d / MODEL_FILE) as tmp:
        tmp.write_bytes(buf.getvalue())
    write_json(d / CONFIG_FILE, config)


class SafetyModel:
    """A loaded net in eval mode: ``score(image_emb, text_emb)`` -> 10 x P(safe) per row."""

    def __init__(self, net: Any, config: dict, directory: Path | None = None):
        self.net = net
        self.config = config
        self.directory = directory

    @property
    def image_encoder(self) -> dict:
        return self.config["encoders"]["image"]

    @property
    def text_encoder(self) -> dict:
        return self.config["encoders"]["text"]

    def check_encoders(self, image_id: str | None = None, text_id: str | None = None) -> None:
        """Refuse embeddings from other encoders than the model was trained on, naming both ids."""
        where = f" ({self.directory})" if self.directory else ""
        for branch, got in (("image", image_id), ("text", text_id)):
            want = self.config["encoders"][branch]["id"]
            if got is not None and got != want:
                raise ConfigError(
                    f"the model{where} was trained on {branch} encoder {want!r} but the current {branch} "
                    f"encoder is {got!r}: set encode.{branch} in params.yaml back, or retrain (dvc repro)"
                )

    def p_safe(self, image_emb: np.ndarray, text_emb: np.ndarray) -> np.ndarray:
        import torch

        xi = self._check(image_emb, "image")
        xt = self._check(text_emb, "text")
        if len(xi) != len(xt):
            raise DataError(
                f"{len(xi)} image embeddings but {len(xt)} text embeddings: pass one of each per image"
            )
        self.net.eval()
        with torch.no_grad():
            logits = self.net(torch.from_numpy(xi), torch.from_numpy(xt))
        return torch.softmax(logits, dim=1)[:, 1].numpy().astype(np.float64)

    def score(self, image_emb: np.ndarray, text_emb: np.ndarray) -> np.ndarray:
        """Safety score 0-10 (= 10 x P(safe)), one per row."""
        return 10.0 * self.p_safe(image_emb, text_emb)

    def _check(self, X: np.ndarray, branch: str) -> np.ndarray:
        X = np.asarray(X, dtype=np.float32)
        if X.ndim == 1:
            X = X[None, :]
        dim = int(self.config["encoders"][branch]["dim"])
        if X.ndim != 2 or X.shape[1] != dim:
            raise DataError(
                f"{branch} embeddings have shape {X.shape}, the model expects width {dim} "
                f"(encoder {self.config['encoders'][branch]['id']!r})"
            )
        if not np.isfinite(X).all():
            raise DataError(f"{branch} embeddings contain NaN/inf: re-encode the input")
        return np.array(X, np.float32)  # a writable copy for torch.from_numpy


def load_model(directory: str | Path, encoders: dict | None = None) -> SafetyModel:
    """Load ``directory``; with ``encoders`` ({"image": {"id"}, "text": {"id"}}) a mismatch is refused."""
    import torch

    from perceptops.model.net import build_from_config
    from perceptops.utils import read_json

    d = Path(directory)
    if not (d / MODEL_FILE).is_file() or not (d / CONFIG_FILE).is_file():
        raise DataError(
            f"no model in {d} (needs {MODEL_FILE} and {CONFIG_FILE}): run the training stage first"
        )
    config = read_json(d / CONFIG_FILE)
    net = build_from_config(config)
    net.load_state_dict(torch.load(d / MODEL_FILE, map_location="cpu", weights_only=True))
    net.eval()
    model = SafetyModel(net, config, d)
    if encoders is not None:
        model.check_encoders(encoders.get("image", {}).get("id"), encoders.get("text", {}).get("id"))
    return model
