"""Describer running a local image-text-to-text model (LLaVA-NeXT, Qwen2-VL class) with transformers.

``AutoProcessor`` + ``AutoModelForImageTextToText`` from ``describe.transformers.model`` (a local
folder, or a hub name already in the local HF cache); greedy decoding, batched. Same two turns and
the same parser/repair path as the OpenAI backend.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from perceptops.describe.base import Describer, Job, OnResult, Outcome, load_image, resize_max_side
from perceptops.describe.cache import cache_key
from perceptops.describe.parse import ParseError, parse_answer
from perceptops.describe.prompts import Prompt
from perceptops.errors import BackendError, ConfigError, PerceptopsError


def _text_turns(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """OpenAI-style messages -> transformers chat-template messages (image placeholder, no URL)."""
    out = []
    for m in messages:
        c = m["content"]
        if isinstance(c, str):
            parts = [{"type": "text", "text": c}]
        else:
            parts = [
                {"type": "image"} if p.get("type") == "image_url" else {"type": "text", "text": p["text"]}
                for p in c
            ]
        out.append({"role": m["role"], "content": parts})
    return out


class TransformersDescriber(Describer):
    backend = "transformers"

    def __init__(self, params: Any):
        super().__init__()
        self.p = params.describe.transformers
        self.max_attempts = params.describe.max_attempts
        self.max_pixels = params.validate_.max_pixels
        self.model = self.p.model or ""
        self._model = None
        self._processor = None

    def gen_params(self) -> dict[str, Any]:
        return {"max_new_tokens": self.p.max_new_tokens, "max_side": self.p.max_side, "do_sample": False}

    def _path(self) -> str:
        from perceptops.paths import expand

        if not self.p.model:
            raise ConfigError(
                "describe.transformers.model is not set: give a local model folder (or a hub name in "
                "the local Hugging Face cache) of an image-text-to-text model"
            )
        local = expand(self.p.model)
        return str(local) if local.exists() else self.p.model

    def check(self) -> None:
        self._path()
        try:
            import transformers  # noqa: F401
        except ImportError as err:
            raise BackendError(
                f"describe.backend 'transformers' needs the transformers package ({err})"
            ) from None

    def load(self) -> None:
        if self._model is not None:
            return
        path = self._path()
        try:
            import torch
            from transformers import AutoModelForImageTextToText, AutoProcessor

            self._processor = AutoProcessor.from_pretrained(path)
            self._model = AutoModelForImageTextToText.from_pretrained(path, dtype=torch.float32)
        except (OSError, ValueError, KeyError) as err:
            raise BackendError(
                f"cannot load the image-text-to-text model {path!r} (describe.transformers.model): {err}"
            ) from None
        self._model.eval()
        tok = getattr(self._processor, "tokenizer", None)
        if tok is not None:
            tok.padding_side = "left"  # decoder-only generation pads on the left
            if tok.pad_token is None:
                tok.pad_token = tok.eos_token

    def _generate(
        self, conversations: list[list[dict[str, Any]]], images: list[Any] | None
    ) -> tuple[list[str], int]:
        import torch

        proc = self._processor
        texts = [
            proc.apply_chat_template(_text_turns(c), add_generation_prompt=True, tokenize=False)
            for c in conversations
        ]
        kwargs: dict[str, Any] = {"text": texts, "return_tensors": "pt", "padding": True}
        if images is not None:
            kwargs["images"] = images
        inputs = proc(**kwargs)
        with torch.inference_mode():
            out = self._model.generate(**inputs, max_new_tokens=self.p.max_new_tokens, do_sample=False)
        n_in = inputs["input_ids"].shape[1]
        new = out[:, n_in:]
        answers = proc.batch_decode(new, skip_special_tokens=True)
        return [a.strip() for a in answers], int(new.numel())

    def _scale(self, cache: Any, prompt: Prompt) -> str:
        gen = {**self.gen_params(), "turn": "scale"}
        key = cache_key("", prompt.hash, self.backend, self.model, gen)
        hit = cache.get(key)
        if hit is not None and hit.ok:
            return hit.parsed["scale"]
        t0 = time.monotonic()
        (text,), ntok = self._generate([prompt.scale_messages()], None)
        self.calls[prompt.target] += 1
        self.tokens[prompt.target] += ntok
        cache.put(
            key=key,
            image_id="",
            target=prompt.target,
            backend=self.backend,
            model=self.model,
            prompt_hash=prompt.hash,
            gen=gen,
            raw=text,
            parsed={"scale": text},
            usage={"completion_tokens": ntok},
            latency_s=time.monotonic() - t0,
            error=None,
            attempts=1,
        )
        return text

    def run(self, jobs: list[Job], cache: Any, on_result: OnResult) -> None:
        if not jobs:
            return
        self.load()
        scales = {j.target: self._scale(cache, j.prompt) for j in jobs}
        pending: list[tuple[Job, list[dict[str, Any]], Any, Outcome]] = []
        for job in jobs:
            try:
                if job.image_path is None:
                    raise ConfigError(f"image {job.image_id} has no path")
                img = resize_max_side(load_image(Path(job.image_path), self.max_pixels), self.p.max_side)
            except PerceptopsError as err:
                on_result(job, Outcome(error=f"image: {err}", attempts=0))
                continue
            msgs = job.prompt.messages(scales[job.target], image_url="local")
            pending.append((job, msgs, img, Outcome()))
        bs = self.p.batch_size
        while pending:
            batch, pending = pending[:bs], pending[bs:]
            t0 = time.monotonic()
            answers, ntok = self._generate([b[1] for b in batch], [[b[2]] for b in batch])
            dt = (time.monotonic() - t0) / len(batch)
            for (job, msgs, img, out), text in zip(batch, answers, strict=True):
                self.calls[job.target] += 1
                self.tokens[job.target] += ntok // len(batch)
                out.attempts += 1
                out.latency_s += dt
                out.raw = text
                try:
                    out.parsed, out.error = parse_answer(text).to_dict(), None
                except ParseError as err:
                    out.error = f"unusable answer: {err}"
                    if out.attempts < self.max_attempts:
                        msgs = [
                            *msgs,
                            {"role": "assistant", "content": text},
                            {"role": "user", "content": job.prompt.repair(str(err))},
                        ]
                        pending.append((job, msgs, img, out))
                        continue
                on_result(job, out)
