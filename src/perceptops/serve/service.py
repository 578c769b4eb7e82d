"""The BentoML service: ``bentoml serve perceptops.serve.service:SafetyService``.

Two new-style services:

- ``Scorer`` (internal): encoders and every packaged model, loaded once per worker; its
  ``encode_score`` API is ``batchable=True`` so BentoML merges concurrent requests into one
  encode+score batch (adaptive batching).
- ``SafetyService`` (public): ``POST /score``, ``POST /score_batch``, ``GET /models`` as a small
  Starlette app mounted on the service (BentoML's ``/livez``, ``/readyz``, ``/metrics`` and OpenAPI
  ``/docs.json`` come first). It validates every request (body size, image header, descriptions)
  before anything reaches the batch, so one bad request can never fail another client's batch.

This module is BentoML's entry point, so it imports bentoml at top level; the CLI never imports it.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

import bentoml
from PIL import Image
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from perceptops.serve.inputs import (
    GENERAL,
    Limits,
    RequestError,
    decode_base64,
    decode_image,
    parse_descriptions,
    parse_json,
)
from perceptops.serve.runtime import Engine, Runtime, load_runtime

log = logging.getLogger("perceptops.serve")


def _serve_params() -> Any:
    """Batching/worker settings must be known when the class is decorated: from the packaged params."""
    from perceptops.config import ServeParams

    try:
        return load_runtime().params().serve
    except Exception:  # no package yet (e.g. building docs / import checks): defaults
        return ServeParams()


SERVE = _serve_params()


@bentoml.service(name="perceptops-scorer", workers=SERVE.workers, traffic={"timeout": SERVE.timeout_s})
class Scorer:
    """Encode + score, batched. Items: ``{"rgb": bytes, "size": (w, h), "texts": {target: text}}``."""

    def __init__(self) -> None:
        self.engine = Engine(load_runtime())

    @bentoml.api(batchable=True, max_batch_size=SERVE.max_batch_size, max_latency_ms=SERVE.max_latency_ms)
    def encode_score(self, items: list[dict[str, Any]]) -> list[dict[str, float]]:
        # Items carry the RGB pixels the front already decoded and checked: this process (the
        # bottleneck) does no decoding, and no bad image can reach (and fail) a merged batch.
        images = [Image.frombytes("RGB", tuple(it["size"]), it["rgb"]) for it in items]
        return self.engine.score(images, [it["texts"] for it in items])


# ---------------------------------------------------------------------------------- HTTP layer
def _error(err: RequestError) -> JSONResponse:
    return JSONResponse({"error": err.message, "status": err.status}, status_code=err.status)


async def _guarded(work: Any) -> JSONResponse:
    """Client errors -> their 4xx; the scorer shedding load -> 503 (retry); anything else -> 500 logged."""
    from bentoml.exceptions import BentoMLException

    try:
        return JSONResponse(await work)
    except RequestError as err:
        return _error(err)
    except BentoMLException as err:
        status = int(getattr(err.error_code, "value", 500))
        log.warning("scorer answered %s: %s", status, err)
        msg = (
            "the scorer is overloaded; retry shortly"
            if status == 503
            else "scoring failed; see the server log"
        )
        return JSONResponse({"error": msg, "status": status}, status_code=status if status >= 500 else 500)
    except Exception:
        log.exception("scoring failed")
        return JSONResponse({"error": "scoring failed; see the server log", "status": 500}, status_code=500)


async def _score(request: Request) -> JSONResponse:
    svc: SafetyService = bentoml.get_current_service()

    async def work() -> Any:
        raw, desc = await svc.read_single(request)
        return await svc.score_images([raw], [desc], single=True)

    return await _guarded(work())


async def _score_batch(request: Request) -> JSONResponse:
    svc: SafetyService = bentoml.get_current_service()

    async def work() -> Any:
        raws, descs = await svc.read_batch(request)
        return {"items": await svc.score_images(raws, descs)}

    return await _guarded(work())


async def _models(request: Request) -> JSONResponse:
    svc: SafetyService = bentoml.get_current_service()
    return JSONResponse(svc.models_info())


class BodyLimit:
    """Refuse request bodies above serve.max_upload_mb with 413 before they are parsed.

    A declared Content-Length is checked first; a chunked body is counted as it streams. The rest of
    an oversized body is drained (bounded) so the client reads the 413 instead of a broken pipe.
    """

    DRAIN_FACTOR = 4

    def __init__(self, app: Any):
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        limit = bentoml.get_current_service().limits.max_bytes
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._drain(receive, limit * self.DRAIN_FACTOR)
            return await self._reject(send, int(declared), limit)
        seen = 0

        async def counting() -> dict:
            nonlocal seen
            msg = await receive()
            if msg["type"] == "http.request":
                seen += len(msg.get("body", b""))
                if seen > limit:
                    raise _TooLarge(seen)
            return msg

        try:
            await self.app(scope, counting, send)
        except _TooLarge as err:
            await self._drain(receive, limit * self.DRAIN_FACTOR)
            await self._reject(send, err.size, limit)

    @staticmethod
    async def _drain(receive: Any, cap: int) -> None:
        got = 0
        while got <= cap:
            msg = await receive()
            if msg["type"] != "http.request":
                return
            got += len(msg.get("body", b""))
            if not msg.get("more_body"):
                return

    @staticmethod
    async def _reject(send: Any, size: int, limit: int) -> None:
        err = RequestError(
            413,
            f"request body of {size / 2**20:.1f} MB is above serve.max_upload_mb = {limit / 2**20:.0f} MB",
        )
        await _error(err)({"type": "http"}, None, send)


class _TooLarge(Exception):
    def __init__(self, size: int):
        self.size = size


# A Starlette app (not a wrapper around one): BentoML's PassiveMount then routes only our three paths
# here, and its own /docs.json, /livez, /readyz, /metrics keep working.
api = Starlette(
    routes=[
        Route("/score", _score, methods=["POST"]),
        Route("/score_batch", _score_batch, methods=["POST"]),
        Route("/models", _models, methods=["GET"]),
    ],
    middleware=[Middleware(BodyLimit)],
)


@bentoml.service(name="perceptops", traffic={"timeout": SERVE.timeout_s})
@bentoml.asgi_app(api, path="/")
class SafetyService:
    """Public API. Validation, decoding and descriptions happen here; scoring in ``Scorer`` batches."""

    scorer = bentoml.depends(Scorer)

    def __init__(self) -> None:
        self.runtime: Runtime = load_runtime()
        self.runtime.activate()
        self.params = self.runtime.params()
        self.limits = Limits.from_params(self.params.serve)
        self.groups = list(self.params.groups)
        self.targets = [t for t in self.runtime.targets if t != GENERAL]
        self.entries = {m.target: m for m in self.runtime.models}

    async def __is_ready__(self) -> bool:
        """Ready only when the scorer (encoders + models) answers too, so /readyz means /score works."""
        check = getattr(self.scorer, "is_ready", None)
        return True if check is None else bool(await check(5))

    # -- request reading ------------------------------------------------------------------------
    async def _form_or_json(self, request: Request) -> tuple[str, Any]:
        ctype = request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
        if ctype in ("multipart/form-data", "application/x-www-form-urlencoded"):
            try:
                form = await request.form(max_files=self.limits.max_images, max_fields=16)
            except Exception as err:  # starlette's MultiPartException / malformed boundaries
                raise RequestError(400, f"malformed multipart body: {err}") from None
            return "form", form
        body = await request.body()
        if ctype.startswith("image/") or ctype == "application/octet-stream":
            return "raw", body
        data = parse_json(body)
        if not isinstance(data, dict):
            raise RequestError(422, f"the JSON body must be an object, got {type(data).__name__}")
        return "json", data

    async def _file_bytes(self, value: Any, what: str) -> bytes:
        if hasattr(value, "read"):  # starlette UploadFile
            return await value.read()
        return decode_base64(value, what)

    async def read_single(self, request: Request) -> tuple[bytes, Any]:
        kind, data = await self._form_or_json(request)
        if kind == "raw":
            if not data:
                raise RequestError(400, "empty request body: send the image bytes")
            return data, None
        if kind == "form":
            if "image" not in data:
                raise RequestError(422, "multipart body has no 'image' file field")
            return await self._file_bytes(data["image"], "image"), data.get("descriptions")
        unknown = sorted(set(data) - {"image", "descriptions"})
        if unknown:
            raise RequestError(422, f"unknown field(s) {unknown}; allowed: image (base64), descriptions")
        if "image" not in data:
            raise RequestError(422, "JSON body has no 'image' field (base64 of the image bytes)")
        return decode_base64(data["image"], "image"), data.get("descriptions")

    async def read_batch(self, request: Request) -> tuple[list[bytes], list[Any]]:
        kind, data = await self._form_or_json(request)
        if kind == "raw":
            raise RequestError(415, "/score_batch takes JSON {\"images\": [...]} or multipart 'image' files")
        if kind == "form":
            files = data.getlist("image")
            raws = [await self._file_bytes(f, f"image[{i}]") for i, f in enumerate(files)]
            descs = data.get("descriptions")
            if isinstance(descs, str):
                descs = parse_json(descs.encode())
        else:
            unknown = sorted(set(data) - {"images", "descriptions"})
            if unknown:
                raise RequestError(
                    422, f"unknown field(s) {unknown}; allowed: images (list of base64), descriptions"
                )
            imgs = data.get("images")
            if not isinstance(imgs, list):
                raise RequestError(422, "'images' must be a list of base64 strings")
            raws = [decode_base64(v, f"images[{i}]") for i, v in enumerate(imgs)]
            descs = data.get("descriptions")
        if not raws:
            raise RequestError(422, "no images: send at least one")
        if len(raws) > self.limits.max_images:
            raise RequestError(
                413, f"{len(raws)} images; the limit is serve.max_images = {self.limits.max_images}"
            )
        if descs is None:
            descs = [None] * len(raws)
        if not isinstance(descs, list) or len(descs) != len(raws):
            raise RequestError(
                422, f"'descriptions' must be a list with one entry (object or null) per image ({len(raws)})"
            )
        return raws, descs

    # -- scoring --------------------------------------------------------------------------------
    async def score_images(self, raws: list[bytes], descs: list[Any], single: bool = False) -> Any:
        from starlette.concurrency import run_in_threadpool

        images, texts = [], []
        for i, (raw, d) in enumerate(zip(raws, descs, strict=True)):
            what = "image" if single else f"images[{i}]"
            images.append(await run_in_threadpool(decode_image, raw, self.limits, what))
            texts.append(
                parse_descriptions(
                    d, self.targets, self.groups, "descriptions" if single else f"descriptions[{i}]"
                )
            )
        described = await run_in_threadpool(self.complete_descriptions, images, texts)
        items = [
            {"rgb": im.tobytes(), "size": im.size, "texts": tx} for im, tx in zip(images, texts, strict=True)
        ]
        scores = await self._call_scorer(items)
        out = [
            self.result(raw, im, sc, de)
            for raw, im, sc, de in zip(raws, images, scores, described, strict=True)
        ]
        return out[0] if single else out

    async def _call_scorer(self, items: list[dict[str, Any]]) -> list[dict[str, float]]:
        scorer = self.scorer
        if hasattr(scorer, "to_async"):  # a remote proxy (bentoml serve): goes through the batcher
            import aiohttp

            try:
                return await scorer.to_async.encode_score(items)
            except aiohttp.ClientConnectionError:
                # A pooled keep-alive connection the scorer just closed: scoring is idempotent, retry once.
                log.info("scorer connection dropped; retrying once")
                return await scorer.to_async.encode_score(items)
        from starlette.concurrency import run_in_threadpool

        return await run_in_threadpool(scorer.encode_score, items)  # in-process (Service.inner())

    def complete_descriptions(self, images: list[Any], texts: list[dict[str, str]]) -> list[list[str]]:
        from perceptops.serve.describing import complete_descriptions

        return complete_descriptions(self.params, self.targets, images, texts)

    def result(
        self, raw: bytes, image: Any, scores: dict[str, float], described: list[str]
    ) -> dict[str, Any]:
        thr = self.runtime.threshold
        rows = []
        for target, score in scores.items():
            e = self.entries[target]
            group, scenario = (None, None) if target == GENERAL else self.params.parse_target(target)
            rows.append(
                {
                    "target": target,
                    "group": group,
                    "scenario": scenario,
                    "model": e.name,
                    "version": e.version,
                    "score": round(score, 4),
                    "label": "safe" if score >= thr else "unsafe",
                }
            )
        return {
            "image_sha256": hashlib.sha256(raw).hexdigest(),
            "width": image.width,
            "height": image.height,
            "threshold": thr,
            "described": described,
            "results": rows,
        }

    def models_info(self) -> dict[str, Any]:
        return {
            "runtime": self.runtime.tag,
            "threshold": self.runtime.threshold,
            "git": self.runtime.manifest.get("git", {}),
            "models": [m.public() for m in self.runtime.models],
        }
