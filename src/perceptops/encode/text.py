"""Frozen text encoders: built-in hashing bag of word n-grams, transformers BERT-like or CLIP text."""

from __future__ import annotations

import hashlib
import re

import numpy as np

from perceptops.encode.image import hf_id, load_hf
from perceptops.errors import BackendError

BUILTIN_VERSION = "1"
HASH_DIM = 2048
TOKEN_RE = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


def tokens(text: str) -> list[str]:
    """Lower-cased words plus adjacent-word bigrams ("busy road" -> busy, road, busy road)."""
    words = TOKEN_RE.findall((text or "").lower())
    return words + [f"{a} {b}" for a, b in zip(words, words[1:], strict=False)]


def _slot(token: str, dim: int) -> tuple[int, float]:
    """Stable (not Python's salted hash) bucket and sign of a token."""
    d = int.from_bytes(hashlib.blake2b(token.encode(), digest_size=8).digest(), "little")
    return d % dim, (1.0 if (d >> 63) & 1 else -1.0)


class BuiltinTextEncoder:
    """Signed feature hashing of word unigrams and bigrams into 2048 dims, sublinear tf (1 + ln tf),
    L2-normalised. An empty text encodes to the zero vector."""

    kind = "builtin"

    def __init__(self, dim: int = HASH_DIM):
        self.dim = dim
        self.model = "hashing-ngrams"
        self.id = f"builtin-text:hash-uni-bigram:{dim}:v{BUILTIN_VERSION}"

    def encode(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), np.float32)
        for i, t in enumerate(texts):
            counts: dict[str, int] = {}
            for tok in tokens(t):
                counts[tok] = counts.get(tok, 0) + 1
            vec = np.zeros(self.dim, np.float64)
            for tok, n in counts.items():
                j, sign = _slot(tok, self.dim)
                vec[j] += sign * (1.0 + np.log(n))
            norm = np.linalg.norm(vec)
            out[i] = vec / norm if norm > 0 else vec
        return out


class HFTextEncoder:
    """BERT-like: last hidden state mean-pooled over the attention mask. CLIP: the text model's pooled
    (end-of-text token) output. Texts longer than the model's limit (at most 512 tokens) are truncated."""

    kind = "hf"

    def __init__(self, model: str, batch_size: int = 32):
        path, src = load_hf(model, "encode.text.model")
        try:
            import torch  # noqa: F401
            from transformers import AutoConfig, AutoModel, AutoTokenizer, CLIPTextModel
        except ImportError as err:
            raise BackendError(f"encode.text.kind 'hf' needs torch and transformers ({err})") from None
        try:
            cfg = AutoConfig.from_pretrained(src)
            self._clip = cfg.model_type in ("clip", "clip_text_model")
            cls = CLIPTextModel if self._clip else AutoModel
            self._model = cls.from_pretrained(src).eval()
            self._tok = AutoTokenizer.from_pretrained(src)
        except (OSError, ValueError, KeyError) as err:
            raise BackendError(
                f"encode.text.model: cannot load {model!r} ({err}); set encode.text.model to a local "
                "folder or a reachable hub name"
            ) from None
        tcfg = getattr(cfg, "text_config", None) or cfg
        self.dim = int(tcfg.hidden_size)
        limit = getattr(tcfg, "max_position_embeddings", 512) or 512
        self._max_len = int(min(limit, 512, self._tok.model_max_length or 512))
        self.model = model
        self.id = hf_id("hf-text", model, path, cfg)
        self._batch = batch_size

    def encode(self, texts: list[str]) -> np.ndarray:
        import torch

        out = []
        for i in range(0, len(texts), self._batch):
            batch = [t or "" for t in texts[i : i + self._batch]]
            enc = self._tok(
                batch, padding=True, truncation=True, max_length=self._max_len, return_tensors="pt"
            )
            with torch.inference_mode():
                res = self._model(**enc)
            if self._clip:
                emb = res.pooler_output
            else:
                mask = enc["attention_mask"].unsqueeze(-1).to(res.last_hidden_state.dtype)
                emb = (res.last_hidden_state * mask).sum(1) / mask.sum(1).clamp(min=1.0)
            out.append(emb.float().cpu().numpy())
        return np.concatenate(out).astype(np.float32) if out else np.zeros((0, self.dim), np.float32)
