"""A local fake OpenAI-compatible chat-completions server (aiohttp, in a thread) that injects faults.

``FakeOpenAI(policy)``: ``policy(body, n)`` returns an action dict for the n-th image request (the
text-only rating-scale turn is always answered). Actions:
  {"content": str, "refusal": str}   200 with that message
  {"status": int, "headers": {...}}  an error status (e.g. 429 with Retry-After, 500)
  {"stall": seconds}                 wait, then answer normally (past the client's timeout)
  {"truncate": True}                 chunked 200 whose body stops half way and the connection drops
  {"body": str}                      200 with this raw (non-JSON) body
Every request is recorded (path, body bytes, whether it carried an image, the image's data URL).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def image_url_of(body: dict[str, Any]) -> str | None:
    for m in body.get("messages", []):
        c = m.get("content")
        if isinstance(c, list):
            for p in c:
                if p.get("type") == "image_url":
                    return p["image_url"]["url"]
    return None


def decode_image_size(url: str) -> tuple[int, int]:
    from PIL import Image

    data = base64.b64decode(url.split(",", 1)[1])
    with Image.open(io.BytesIO(data)) as im:
        return im.size


def good_answer(body: dict[str, Any]) -> str:
    """A valid answer whose rating depends on the image bytes (so answers differ by image)."""
    url = image_url_of(body) or ""
    r = int(hashlib.sha256(url.encode()).hexdigest(), 16) % 10 + 1
    return json.dumps({"description": f"The street feels rated {r}/10.", "safety": r, "factors": ["light"]})


@dataclass
class Record:
    t: float
    size: int
    body: dict[str, Any]
    has_image: bool
    image_key: str | None
    headers: dict[str, str]


@dataclass
class FakeOpenAI:
    policy: Callable[[dict[str, Any], int], dict[str, Any]] | None = None
    latency_s: float = 0.0
    records: list[Record] = field(default_factory=list)
    port: int = 0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._n_image = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def image_calls(self) -> int:
        return sum(r.has_image for r in self.records)

    @property
    def calls(self) -> int:
        return len(self.records)

    def reset(self) -> None:
        with self._lock:
            self.records.clear()
            self._n_image = 0

    async def _handle(self, request):
        from aiohttp import web

        raw = await request.read()
        body = json.loads(raw)
        url = image_url_of(body)
        key = hashlib.sha256(url.encode()).hexdigest() if url else None
        with self._lock:
            self.records.append(
                Record(time.monotonic(), len(raw), body, url is not None, key, dict(request.headers))
            )
            n = self._n_image
            if url is not None:
                self._n_image += 1
        if self.latency_s:
            await asyncio.sleep(self.latency_s)
        if url is None:  # turn 1: the rating scale
            action: dict[str, Any] = {"content": "Scale: 1 = very unsafe ... 10 = very safe."}
        else:
            action = self.policy(body, n) if self.policy else {}
        if "stall" in action:
            await asyncio.sleep(action["stall"])
        if "status" in action:
            return web.Response(
                status=action["status"], headers=action.get("headers", {}), text=action.get("text", "fault")
            )
        if "body" in action:
            return web.Response(status=200, text=action["body"], content_type="application/json")
        content = action.get("content", good_answer(body))
        msg: dict[str, Any] = {"role": "assistant", "content": content}
        if "refusal" in action:
            msg["refusal"] = action["refusal"]
        payload = {
            "id": "x",
            "object": "chat.completion",
            "model": body.get("model"),
            "choices": [{"index": 0, "message": msg, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
        }
        if action.get("truncate"):
            resp = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
            resp.enable_chunked_encoding()
            await resp.prepare(request)
            data = json.dumps(payload).encode()
            await resp.write(data[: len(data) // 2])
            await asyncio.sleep(0.05)
            request.transport.close()  # drop the connection mid-body
            return resp
        return web.json_response(payload)

    def start(self) -> FakeOpenAI:
        from aiohttp import web

        self.port = self.port or free_port()
        ready = threading.Event()

        def serve() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            app = web.Application(client_max_size=64 * 1024 * 1024)
            app.router.add_post("/v1/chat/completions", self._handle)
            self._runner = web.AppRunner(app, access_log=None)
            loop.run_until_complete(self._runner.setup())
            site = web.TCPSite(self._runner, "127.0.0.1", self.port, backlog=256)
            loop.run_until_complete(site.start())
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self._runner.cleanup())
            loop.close()

        self._thread = threading.Thread(target=serve, daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("fake server did not start")
        return self

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


if __name__ == "__main__":  # a healthy server in its own process (benchmarks): --port P --latency S
    import argparse

    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--latency", type=float, default=0.0)
    a = ap.parse_args()
    FakeOpenAI(latency_s=a.latency, port=a.port).start()
    print("ready", flush=True)
    threading.Event().wait()
