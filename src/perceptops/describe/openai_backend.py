"""Describer for any OpenAI-compatible chat-completions server with image input (vLLM, Ollama, TGI, OpenAI).

Async (httpx) with ``concurrency`` workers; per-request ``timeout_s``; retries with exponential
backoff and jitter on 429, 5xx, timeouts and dropped connections, honouring ``Retry-After``. The API
key is read from the environment variable named by ``describe.openai.api_key_env`` and only ever put
in the Authorization header: never logged, cached or written anywhere.
"""

from __future__ import annotations

import asyncio
import email.utils
import os
import random
import time
from typing import TYPE_CHECKING, Any

from perceptops.describe.base import Describer, Job, OnResult, Outcome, jpeg_data_url, load_image
from perceptops.describe.cache import cache_key
from perceptops.describe.parse import ParseError, parse_answer
from perceptops.describe.prompts import RESPONSE_SCHEMA, Prompt
from perceptops.errors import ConfigError, PerceptopsError

if TYPE_CHECKING:
    import httpx

    from perceptops.describe.cache import ResponseCache

MAX_RETRY_AFTER_S = 600.0  # a server asking for longer than this is treated as down
INLINE_ENCODE_BYTES = 1 << 20  # smaller images are encoded on the event loop (a thread hop costs more)


class CallFailed(Exception):
    """A chat call that failed for good (retries spent, or a non-retryable HTTP status)."""


def retry_after_seconds(value: str | None) -> float | None:
    """``Retry-After`` is seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class OpenAIDescriber(Describer):
    backend = "openai"

    def __init__(self, params: Any):
        super().__init__()
        self.p = params.describe.openai
        self.model = self.p.model
        self.max_attempts = params.describe.max_attempts
        self.max_pixels = params.validate_.max_pixels
        self._schema_ok = self.p.json_schema
        self._key: str | None = None
        self._ssl: Any = None

    def gen_params(self) -> dict[str, Any]:
        p = self.p
        return {
            "temperature": p.temperature,
            "max_tokens": p.max_tokens,
            "max_side": p.max_side,
            "json_schema": p.json_schema,
        }

    def check(self) -> None:
        key = os.environ.get(self.p.api_key_env, "")
        if self.p.require_api_key and not key.strip():
            raise ConfigError(
                f"environment variable {self.p.api_key_env} is not set: it must hold the API key of "
                f"{self.p.base_url} (describe.openai.api_key_env names the variable; set "
                "describe.openai.require_api_key: false for a server without keys)"
            )
        self._key = key.strip() or None

    # -- HTTP ------------------------------------------------------------------------------
    def _delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, MAX_RETRY_AFTER_S)
        cap = min(self.p.backoff_max_s, self.p.backoff_base_s * 2**attempt)
        return cap / 2 + random.uniform(0, cap / 2)  # "equal jitter": spreads retries of many workers

    async def _post(self, client: httpx.AsyncClient, body: dict[str, Any], target: str) -> dict[str, Any]:
        import httpx

        attempt = 0
        while True:
            self.calls[target] += 1
            retry_after = None
            try:
                r = await asyncio.wait_for(client.post("chat/completions", json=body), self.p.timeout_s)
            except (TimeoutError, httpx.TimeoutException):
                why = f"timeout after {self.p.timeout_s:g} s (describe.openai.timeout_s)"
            except httpx.TransportError as err:  # refused, reset, dropped mid-body
                why = f"connection error: {type(err).__name__}: {err}".rstrip(": ")
            else:
                if r.status_code == 200:
                    try:
                        data = r.json()
                    except ValueError:
                        why = "the server sent a body that is not JSON"
                    else:
                        if isinstance(data, dict):
                            return data
                        why = "the server sent JSON that is not an object"
                elif r.status_code == 429 or r.status_code >= 500:
                    why = f"HTTP {r.status_code}: {r.text[:200]}"
                    retry_after = retry_after_seconds(r.headers.get("retry-after"))
                elif r.status_code == 400 and "response_format" in body and "response_format" in r.text:
                    # The server has no JSON-schema mode: fall back to the plain prompt + tolerant parser.
                    self._schema_ok = False
                    body = {k: v for k, v in body.items() if k != "response_format"}
                    continue
                else:
                    raise CallFailed(f"HTTP {r.status_code}: {r.text[:300]}")
            if attempt >= self.p.max_retries:
                raise CallFailed(f"{why} (gave up after {attempt + 1} tries; describe.openai.max_retries)")
            await asyncio.sleep(self._delay(attempt, retry_after))
            attempt += 1

    def _body(self, messages: list[dict[str, Any]], structured: bool) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "temperature": self.p.temperature,
            "max_tokens": self.p.max_tokens,
        }
        if structured and self._schema_ok:
            body["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "street_safety", "schema": RESPONSE_SCHEMA, "strict": True},
            }
        return body

    def _count(self, target: str, data: dict[str, Any], usage: dict[str, int]) -> None:
        u = data.get("usage") or {}
        for k in ("prompt_tokens", "completion_tokens", "total_tokens"):
            v = u.get(k) if isinstance(u, dict) else None
            if isinstance(v, int):
                usage[k] = usage.get(k, 0) + v
        if isinstance(u, dict) and isinstance(u.get("total_tokens"), int):
            self.tokens[target] += u["total_tokens"]

    @staticmethod
    def _message(data: dict[str, Any]) -> tuple[str | None, str | None]:
        """(content, refusal) of the first choice."""
        try:
            msg = data["choices"][0]["message"]
        except (KeyError, IndexError, TypeError):
            return None, None
        if not isinstance(msg, dict):
            return None, None
        content = msg.get("content")
        if isinstance(content, list):  # some servers return content parts
            content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
        refusal = msg.get("refusal")
        return (content if isinstance(content, str) else None), (
            refusal if isinstance(refusal, str) else None
        )

    # -- turns -------------------------------------------------------------------------------
    async def _scale(self, client: httpx.AsyncClient, cache: ResponseCache, prompt: Prompt) -> str:
        """Turn 1, once per target: the rating scale (cached like any answer)."""
        gen = {**self.gen_params(), "turn": "scale"}
        key = cache_key("", prompt.hash, self.backend, self.model, gen)
        hit = cache.get(key)
        if hit is not None and hit.ok:
            return hit.parsed["scale"]
        t0 = time.monotonic()
        usage: dict[str, int] = {}
        try:
            data = await self._post(
                client, self._body(prompt.scale_messages(), structured=False), prompt.target
            )
            self._count(prompt.target, data, usage)
            content, refusal = self._message(data)
            if not content or not content.strip():
                raise CallFailed(
                    f"empty rating-scale answer{f' (refusal: {refusal[:100]})' if refusal else ''}"
                )
        except CallFailed as err:
            cache.put(
                key=key,
                image_id="",
                target=prompt.target,
                backend=self.backend,
                model=self.model,
                prompt_hash=prompt.hash,
                gen=gen,
                raw=None,
                parsed=None,
                usage=usage,
                latency_s=time.monotonic() - t0,
                error=str(err),
                attempts=1,
            )
            raise
        cache.put(
            key=key,
            image_id="",
            target=prompt.target,
            backend=self.backend,
            model=self.model,
            prompt_hash=prompt.hash,
            gen=gen,
            raw=content,
            parsed={"scale": content.strip()},
            usage=usage,
            latency_s=time.monotonic() - t0,
            error=None,
            attempts=1,
        )
        return content.strip()

    async def _describe(self, client: httpx.AsyncClient, job: Job, scale: str) -> Outcome:
        t0 = time.monotonic()
        out = Outcome()
        try:
            big = job.image_path is not None and job.image_path.stat().st_size > INLINE_ENCODE_BYTES
            url = await asyncio.to_thread(self._encode, job) if big else self._encode(job)
        except OSError as err:
            out.error = f"image: cannot read {job.image_path}: {err}"
            return out
        except PerceptopsError as err:
            out.error = f"image: {err}"
            return out
        messages = job.prompt.messages(scale, url)
        while out.attempts < self.max_attempts:
            out.attempts += 1
            try:
                data = await self._post(client, self._body(messages, structured=True), job.target)
            except CallFailed as err:
                out.error = str(err)
                break
            self._count(job.target, data, out.usage)
            content, refusal = self._message(data)
            out.raw = content if content is not None else refusal
            try:
                if refusal and not (content or "").strip():
                    raise ParseError(f"the model refused: {refusal[:120]!r}")
                ans = parse_answer(content)
            except ParseError as err:
                out.error = f"unusable answer: {err}"
                messages = [
                    *messages,
                    {"role": "assistant", "content": content or refusal or ""},
                    {"role": "user", "content": job.prompt.repair(str(err))},
                ]
                continue
            out.parsed, out.error = ans.to_dict(), None
            break
        out.latency_s = time.monotonic() - t0
        return out

    def _encode(self, job: Job) -> str:
        if job.image_path is None:
            raise ConfigError(f"image {job.image_id} has no path")
        return jpeg_data_url(load_image(job.image_path, self.max_pixels), self.p.max_side)

    def _client(self, connections: int) -> httpx.AsyncClient:
        import httpx

        headers = {"Authorization": f"Bearer {self._key}"} if self._key else {}
        limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
        if self._ssl is None:  # loading the CA bundle costs ~0.1 s: once per run, shared by every client
            self._ssl = httpx.create_ssl_context()
        return httpx.AsyncClient(
            base_url=self.p.base_url.rstrip("/") + "/",
            headers=headers,
            limits=limits,
            timeout=httpx.Timeout(self.p.timeout_s),
            verify=self._ssl,
        )

    async def _run(self, jobs: list[Job], cache: ResponseCache, on_result: OnResult) -> None:
        prompts = {j.target: j.prompt for j in jobs}
        scales: dict[str, str | Exception] = {}

        async def get_scale(client: httpx.AsyncClient, p: Prompt) -> None:
            try:
                scales[p.target] = await self._scale(client, cache, p)
            except CallFailed as err:
                scales[p.target] = err

        async with self._client(self.p.concurrency) as client:
            await asyncio.gather(*(get_scale(client, p) for p in prompts.values()))
        queue: asyncio.Queue[Job] = asyncio.Queue()
        for j in jobs:
            queue.put_nowait(j)

        async def worker() -> None:
            # One single-connection client per worker: `concurrency` workers = `concurrency` requests in
            # flight (the semaphore), and httpcore's pool bookkeeping stays O(1) per request, which keeps
            # the client's CPU cost per call low enough for high request rates.
            async with self._client(1) as client:
                while True:
                    try:
                        job = queue.get_nowait()
                    except asyncio.QueueEmpty:
                        return
                    sc = scales[job.target]
                    if isinstance(sc, Exception):
                        out = Outcome(error=f"rating-scale turn failed: {sc}", attempts=1)
                    else:
                        out = await self._describe(client, job, sc)
                    on_result(job, out)  # commits to the cache at once

        await asyncio.gather(*(worker() for _ in range(min(self.p.concurrency, len(jobs)))))

    def run(self, jobs: list[Job], cache: ResponseCache, on_result: OnResult) -> None:
        if self._key is None:
            self.check()
        if jobs:
            asyncio.run(self._run(jobs, cache, on_result))
