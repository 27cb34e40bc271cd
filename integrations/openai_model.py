"""ChatModel for any OpenAI-compatible endpoint (OpenAI, vLLM, Ollama, llama.cpp server…).

The client runs with ``max_retries=0``: the router owns retries and fallbacks. Every call has an overall deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from typing import Any

import httpx
import openai

from bot.core.budget import checked_usage, input_upper_bound
from bot.core.errors import ModelResponseError, ModelUnavailable
from bot.core.models import ChatMessage, Completion, ToolCall
from bot.core.ports import ChatModel


class OpenAICompatibleModel(ChatModel):
    def __init__(self, *, name: str, model: str, api_key: str, base_url: str | None, timeout: float) -> None:
        self.name = name
        self._model = model
        self._client = openai.AsyncOpenAI(api_key=api_key, base_url=base_url, max_retries=0, timeout=timeout)
        self._stream_usage = True  # ask for usage in the last chunk, until the endpoint refuses stream_options

    async def close(self) -> None:
        await self._client.close()

    async def complete(
        self,
        *,
        messages: Sequence[ChatMessage],
        max_tokens: int,
        timeout: float,
        tools: Sequence[Mapping[str, Any]] | None = None,
    ) -> Completion:
        kwargs: dict[str, Any] = {"model": self._model, "max_tokens": max_tokens, "timeout": timeout,
                                  "messages": [m.wire() for m in messages]}
        if tools:
            kwargs["tools"] = list(tools)
        with self._mapped(timeout):
            async with asyncio.timeout(timeout + 1):
                resp = await self._client.chat.completions.create(**kwargs)
        done = _completion(self.name, resp)
        usage = getattr(resp, "usage", None)
        input_tokens, output_tokens = checked_usage(
            model=self.name, input_tokens=getattr(usage, "prompt_tokens", None),
            output_tokens=getattr(usage, "completion_tokens", None),
            max_input=input_upper_bound(messages, tools), max_output=max_tokens)
        return done.model_copy(update={"input_tokens": input_tokens, "output_tokens": output_tokens})


    @contextlib.contextmanager
    def _mapped(self, timeout: float) -> Iterator[None]:
        """The endpoint's errors as the core's: ModelUnavailable (retry or fall back), ModelResponseError."""
        try:
            yield
        except TimeoutError as exc:
            raise ModelUnavailable(f"{self.name}: timed out after {timeout:.0f}s") from exc
        except openai.RateLimitError as exc:
            raise ModelUnavailable(f"{self.name}: rate limited (429)", retry_after=_retry_after(exc)) from exc
        except openai.APIStatusError as exc:
            if exc.status_code >= 500 or exc.status_code in (408, 409):
                raise ModelUnavailable(f"{self.name}: server error {exc.status_code}") from exc
            raise ModelResponseError(f"{self.name}: request refused ({exc.status_code})") from exc
        except (openai.APITimeoutError, openai.APIConnectionError) as exc:
            raise ModelUnavailable(f"{self.name}: {type(exc).__name__}") from exc
        except (openai.APIResponseValidationError, ValueError, TypeError) as exc:
            raise ModelResponseError(f"{self.name}: unreadable response") from exc
        except (openai.APIError, httpx.HTTPError) as exc:  # a stream cut or failing in the middle
            raise ModelUnavailable(f"{self.name}: stream broken ({type(exc).__name__})") from exc

    async def stream(
        self, *, messages: Sequence[ChatMessage], max_tokens: int, timeout: float
    ) -> AsyncIterator[str | Completion]:
        """``stream=True`` with the same overall deadline: the whole stream, first byte to last, must end within
        ``timeout`` (a drip of chunks cannot keep it open). Usage comes from the last chunk
        (``stream_options.include_usage``) where the endpoint sends it, checked like a whole answer's; otherwise
        it is estimated: the input's upper bound, and the output as at least one token per chunk received."""
        kwargs: dict[str, Any] = {"model": self._model, "max_tokens": max_tokens, "timeout": timeout,
                                  "messages": [m.wire() for m in messages], "stream": True}
        if self._stream_usage:
            kwargs["stream_options"] = {"include_usage": True}
        parts: list[str] = []
        chunks, usage, model, finish = 0, None, self.name, None
        deadline = asyncio.get_running_loop().time() + timeout + 1
        with self._mapped(timeout):
            async with asyncio.timeout_at(deadline):  # never across a yield: the reader's own work is not timed
                try:
                    response = await self._client.chat.completions.create(**kwargs)
                except openai.BadRequestError:
                    if "stream_options" not in kwargs:
                        raise
                    self._stream_usage = False  # an endpoint that refuses stream_options: usage is estimated
                    del kwargs["stream_options"]
                    response = await self._client.chat.completions.create(**kwargs)
            try:
                chunks_in = response.__aiter__()
                while True:
                    async with asyncio.timeout_at(deadline):
                        chunk = await anext(chunks_in, None)
                    if chunk is None:
                        break
                    usage = getattr(chunk, "usage", None) or usage
                    model = str(getattr(chunk, "model", None) or model)
                    for choice in getattr(chunk, "choices", None) or []:
                        finish = getattr(choice, "finish_reason", None) or finish
                        delta = getattr(getattr(choice, "delta", None), "content", None)
                        if isinstance(delta, str) and delta:
                            chunks += 1
                            parts.append(delta)
                            yield delta
            finally:
                await response.close()
        text = "".join(parts)
        bound = input_upper_bound(messages)
        if usage is not None:
            reported = getattr(usage, "prompt_tokens", None), getattr(usage, "completion_tokens", None)
        else:  # estimated: never less than what was received, never past max_tokens
            reported = bound, min(max_tokens, max(chunks, (len(text.encode()) + 3) // 4))
        input_tokens, output_tokens = checked_usage(model=self.name, input_tokens=reported[0],
                                                    output_tokens=reported[1], max_input=bound, max_output=max_tokens)
        yield Completion(text=text, model=model, input_tokens=input_tokens, output_tokens=output_tokens,
                         finish_reason=finish if isinstance(finish, str) else None)


def _completion(name: str, resp: Any) -> Completion:
    try:
        choice = resp.choices[0]
        text = choice.message.content or ""
        calls = [ToolCall(id=str(c.id), name=str(c.function.name), arguments=str(c.function.arguments or "{}"))
                 for c in (getattr(choice.message, "tool_calls", None) or []) if getattr(c, "function", None)]
        finish = getattr(choice, "finish_reason", None)
        return Completion(text=text, tool_calls=calls, model=str(resp.model or name),
                          finish_reason=finish if isinstance(finish, str) else None)
    except (AttributeError, IndexError, TypeError, ValueError) as exc:
        raise ModelResponseError(f"{name}: response without a message") from exc


def _retry_after(exc: openai.APIStatusError) -> float | None:
    value = exc.response.headers.get("retry-after") if exc.response is not None else None
    try:
        return float(value) if value else None
    except ValueError:
        return None
