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
    # streamed answers (``"stream": true``): the reply in chunks of ``chunk_chars``, ``chunk_delay`` seconds apart;
    # script actions "500-mid" (an error event after 3/4 of the chunks), "cut" (the connection dropped there
    # chunks), "drip" (one chunk every ``drip_seconds``, forever), "nousage" (no usage chunk) apply to streams
    chunk_chars: int = 8
    chunk_delay: float = 0.0
    drip_seconds: float = 0.5
    streamed: int = 0  # streamed answers begun
    refuse_stream_options: bool = False  # answer 400 to a request with stream_options, as some servers do
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
        if action == "drip" and not body.get("stream"):  # headers at once, then a byte at a time: only the
            return await self._drip(request)  # client's own timeout ends it (a stream drips its chunks, below)
        if action == "slow":
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), self.slow_seconds)
        if action == "garbage":
            return web.Response(text="<html>not json", content_type="application/json")
        if body.get("stream") and self.refuse_stream_options and "stream_options" in body:
            return web.json_response({"error": {"message": "Unrecognized request argument supplied: stream_options",
                                                "type": "invalid_request_error"}}, status=400)
        if body.get("stream") and not action.startswith(("tool:", "tools:", "usage:")):
            return await self._stream(request, body, action)
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


    async def _stream(self, request: web.Request, body: dict[str, Any], action: str) -> web.StreamResponse:
        """Server-sent events like OpenAI's: a chunk per piece of the reply, a finish chunk, a usage chunk (when
        ``stream_options.include_usage``), ``[DONE]``."""
        self.streamed += 1
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        model = body.get("model", "gpt")

        async def send(data: Any) -> None:
            await response.write(f"data: {json.dumps(data)}\n\n".encode())

        def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
            return {"id": "chatcmpl-s", "object": "chat.completion.chunk", "created": 1, "model": model,
                    "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

        text = "" if action == "empty" else self.reply
        pieces = [text[i:i + self.chunk_chars] for i in range(0, len(text), self.chunk_chars)]
        with contextlib.suppress(ConnectionError):
            await send(chunk({"role": "assistant", "content": ""}))
            for n, piece in enumerate(pieces):
                if action in ("500-mid", "cut") and n == max(1, len(pieces) * 3 // 4):
                    if action == "cut" and request.transport is not None:
                        request.transport.close()
                        return response
                    await send({"error": {"message": "The server had an error", "type": "server_error",
                                          "code": 500}})
                    return response
                await send(chunk({"content": piece}))
                delay = self.drip_seconds if action == "drip" else self.chunk_delay
                if delay:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._closing.wait(), delay)
                    if self._closing.is_set():
                        return response
                if action == "drip" and n == len(pieces) - 1:
                    pieces.extend(pieces)  # never finishes while the fake runs
            await send(chunk({}, "stop"))
            if (body.get("stream_options") or {}).get("include_usage") and action != "nousage":
                out = min(len(pieces), int(body.get("max_tokens") or 20))
                await send({"id": "chatcmpl-s", "object": "chat.completion.chunk", "created": 1, "model": model,
                            "choices": [], "usage": {"prompt_tokens": 40, "completion_tokens": out,
                                                     "total_tokens": 40 + out}})
            await response.write(b"data: [DONE]\n\n")
        return response

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
