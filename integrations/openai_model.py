"""ChatModel for any OpenAI-compatible endpoint (OpenAI, vLLM, Ollama, llama.cpp server…).

The client runs with ``max_retries=0``: the router owns retries and fallbacks. Every call has an overall deadline.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

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
        try:
            async with asyncio.timeout(timeout + 1):
                resp = await self._client.chat.completions.create(**kwargs)
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
        done = _completion(self.name, resp)
        usage = getattr(resp, "usage", None)
        input_tokens, output_tokens = checked_usage(
            model=self.name, input_tokens=getattr(usage, "prompt_tokens", None),
            output_tokens=getattr(usage, "completion_tokens", None),
            max_input=input_upper_bound(messages, tools), max_output=max_tokens)
        return done.model_copy(update={"input_tokens": input_tokens, "output_tokens": output_tokens})


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
