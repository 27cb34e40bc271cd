"""A fake OpenAI-compatible server: answers /v1/chat/completions and /v1/embeddings, records requests, injects
failures. Embeddings are deterministic bags of hashed words (texts sharing words are similar)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import re
import struct
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class FakeOpenAI:
    reply: str = "Hello team, the shipment is delayed by two days. We apologise for the inconvenience."
    requests: list[dict[str, Any]] = field(default_factory=list)
    script: deque[str] = field(default_factory=deque)  # "429", "500", "503", "slow", "drip", "garbage", "empty", "ok",
    # "usage:<prompt>,<completion>" (an answer reporting those token counts, e.g. "usage:-5000000,20")
    gate: asyncio.Event | None = None  # when set to an Event, every answer waits for it (requests are recorded first)
    slow_seconds: float = 30.0
    # seconds each successful chat answer takes, from its request body (a latency distribution for load runs)
    latency: Callable[[dict[str, Any]], float] | None = None
    url: str = ""
    embedded: list[str] = field(default_factory=list)  # every text /v1/embeddings received
    embed_script: deque[str] = field(default_factory=deque)  # for /v1/embeddings: "500", "drip" (a byte at a
    # time, never finishing while the fake runs), "ok"
    _closing: asyncio.Event = field(default_factory=asyncio.Event)
    _runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._complete)
        app.router.add_post("/v1/embeddings", self._embed)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}/v1"

    async def stop(self) -> None:
        self._closing.set()
        if self._runner:
            await self._runner.cleanup()

    def texts_received(self) -> str:
        return "\n".join(m.get("content", "") for r in self.requests for m in r.get("messages", []))

    async def _complete(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.requests.append(body)
        action = self.script.popleft() if self.script else "ok"
        if self.gate is not None:
            await self.gate.wait()
        if action == "429":
            return web.json_response({"error": {"message": "rate limited", "type": "rate_limit"}}, status=429,
                                     headers={"Retry-After": "0"})
        if action in ("500", "503"):
            return web.json_response({"error": {"message": "boom"}}, status=int(action))
        if action == "drip":  # headers at once, then a byte at a time: only the client's own timeout ends it
            return await self._drip(request)
        if action == "slow":
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), self.slow_seconds)
        if action == "garbage":
            return web.Response(text="<html>not json", content_type="application/json")
        if action.startswith(("tool:", "tools:")):  # tools: one call per line, "name args"
            wanted = [action[5:]] if action.startswith("tool:") else action[6:].splitlines()
            calls = []
            for i, line in enumerate(wanted, 1):
                name, _, args = line.partition(" ")
                calls.append({"id": f"call_{i}", "type": "function", "function": {"name": name,
                                                                                  "arguments": args or "{}"}})
            message = {"role": "assistant", "content": None, "tool_calls": calls}
            return web.json_response({
                "id": "chatcmpl-t", "object": "chat.completion", "created": 1, "model": body.get("model", "gpt"),
                "choices": [{"index": 0, "finish_reason": "tool_calls", "message": message}],
                "usage": {"prompt_tokens": 30, "completion_tokens": 10, "total_tokens": 40}})
        if self.latency is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), self.latency(body))
        text = "" if action == "empty" else self.reply
        out = min(20, int(body.get("max_tokens") or 20))  # a real endpoint never answers past max_tokens
        usage: dict[str, Any] = {"prompt_tokens": 40, "completion_tokens": out, "total_tokens": 40 + out}
        if action.startswith("usage:"):
            prompt, _, completion = action[6:].partition(",")
            usage = {"prompt_tokens": json.loads(prompt), "completion_tokens": json.loads(completion or "0")}
        return web.json_response({
            "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": body.get("model", "gpt"),
            "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": text}}],
            "usage": usage,
        })


    async def _embed(self, request: web.Request) -> web.Response:
        body = await request.json()
        texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
        self.embedded.extend(texts)
        action = self.embed_script.popleft() if self.embed_script else "ok"
        if action == "500":
            return web.json_response({"error": {"message": "boom"}}, status=500)
        if action == "drip":
            return await self._drip(request)
        data = []
        for i, text in enumerate(texts):
            vector = bag_of_words(text)
            if body.get("encoding_format") == "base64":
                encoded: Any = base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
            else:
                encoded = vector
            data.append({"object": "embedding", "index": i, "embedding": encoded})
        return web.json_response({"object": "list", "data": data, "model": body.get("model", "emb"),
                                  "usage": {"prompt_tokens": 1, "total_tokens": 1}})

    async def _drip(self, request: web.Request) -> web.StreamResponse:
        """Headers at once, then one byte of a JSON body every 0.2 s: no read ever waits long enough to time out."""
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        await response.prepare(request)
        with contextlib.suppress(ConnectionError):
            for _ in range(3000):
                await response.write(b" ")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._closing.wait(), 0.2)
                if self._closing.is_set():
                    break
        return response


def bag_of_words(text: str, dims: int = 64) -> list[float]:
    vector = [0.0] * dims
    for word in re.findall(r"[a-z]{3,}", text.lower()):
        vector[int(hashlib.sha256(word.encode()).hexdigest(), 16) % dims] += 1.0
    norm = sum(v * v for v in vector) ** 0.5 or 1.0
    return [v / norm for v in vector]


def dumps(data: Any) -> str:
    return json.dumps(data)
