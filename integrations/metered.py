"""Adapters that count what passes through them (``integrations.metrics``): each wraps one port and changes
nothing of its behaviour — same answers, same errors."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from opentelemetry import trace

from bot.core.errors import MapleError
from bot.core.lru import Recent
from bot.core.models import ChatMessage, Completion, Job, Run, RunState
from bot.core.ports import AuditLog, ChatModel, Hold, Spending, UsageLedger
from bot.core.spec import ModelSpec
from integrations import metrics, tracing
from integrations.redis_store import RedisRunStore

SEEN_MAX = 10_000


class MeteredModel(ChatModel):
    """Calls, errors, latency, tokens and estimated cost of one model endpoint."""

    def __init__(self, inner: ChatModel, spec: ModelSpec) -> None:
        self.inner, self.spec, self.name = inner, spec, inner.name

    async def open(self) -> None:
        await self.inner.open()

    def _span(self, *, max_tokens: int, messages: int) -> AbstractContextManager[trace.Span]:
        """The GenAI semantic-convention span of one call (``chat {model}``); ids and counts, never text."""
        if not tracing.active():
            return _no_span()
        kind = trace.SpanKind.INTERNAL if self.spec.kind == "local-gguf" else trace.SpanKind.CLIENT
        return tracing.tracer().start_as_current_span(f"chat {self.spec.model or self.name}", kind=kind, attributes={
            "gen_ai.operation.name": "chat", "gen_ai.provider.name": _provider(self.spec),
            "gen_ai.request.model": self.spec.model or self.name, "gen_ai.request.max_tokens": max_tokens,
            "maple.model": self.name, "maple.model.messages.count": messages})

    async def close(self) -> None:
        await self.inner.close()

    async def complete(self, *, messages: Sequence[ChatMessage], max_tokens: int, timeout: float,
                       tools: Sequence[Mapping[str, Any]] | None = None) -> Completion:
        name = self.name
        metrics.MODEL_CALLS.labels(name).inc()
        started = time.perf_counter()
        with self._span(max_tokens=max_tokens, messages=len(messages)) as span:
            try:
                done = await self.inner.complete(messages=messages, max_tokens=max_tokens, timeout=timeout,
                                                 tools=tools)
            except Exception as exc:
                metrics.MODEL_ERRORS.labels(name, type(exc).__name__).inc()
                span.set_attribute("error.type", type(exc).__name__)
                raise
            finally:
                metrics.MODEL_SECONDS.labels(name).observe(time.perf_counter() - started)
            span.set_attributes(_answered(done, name))
        self._count(done)
        return done

    def _count(self, done: Completion) -> None:
        name = self.name
        metrics.MODEL_TOKENS.labels(name, "input").inc(done.input_tokens)
        metrics.MODEL_TOKENS.labels(name, "output").inc(done.output_tokens)
        cost = (done.input_tokens * self.spec.price_in + done.output_tokens * self.spec.price_out) / 1_000_000
        metrics.MODEL_COST.labels(name).inc(cost)

    async def stream(self, *, messages: Sequence[ChatMessage], max_tokens: int,
                     timeout: float) -> AsyncIterator[str | Completion]:
        name = self.name
        metrics.MODEL_CALLS.labels(name).inc()
        started = time.perf_counter()
        # a span that is not made current: the generator's context does not survive its yields
        span = tracing.tracer().start_span(f"chat {self.spec.model or name}", attributes={
            "gen_ai.operation.name": "chat", "gen_ai.provider.name": _provider(self.spec),
            "gen_ai.request.model": self.spec.model or name, "gen_ai.request.max_tokens": max_tokens,
            "maple.model": name, "maple.model.messages.count": len(messages), "maple.model.streamed": True})
        try:
            async for item in self.inner.stream(messages=messages, max_tokens=max_tokens, timeout=timeout):
                if isinstance(item, Completion):
                    self._count(item)
                    span.set_attributes(_answered(item, name))
                yield item
        except Exception as exc:
            metrics.MODEL_ERRORS.labels(name, type(exc).__name__).inc()
            span.set_attribute("error.type", type(exc).__name__)
            raise
        finally:
            metrics.MODEL_SECONDS.labels(name).observe(time.perf_counter() - started)
            span.end()


def _no_span() -> AbstractContextManager[trace.Span]:
    return nullcontext(trace.INVALID_SPAN)  # tracing off: not even the API's no-op tracer is called


def _provider(spec: ModelSpec) -> str:
    return "llama.cpp" if spec.kind == "local-gguf" else "openai"


class MeteredLedger(UsageLedger):
    """Budget reservations (granted or refused) and what is settled against the budgets."""

    def __init__(self, inner: UsageLedger) -> None:
        self.inner = inner

    async def reserve(self, *, user: str, team: str, tokens: int, at_least: int, user_limit: int | None,
                      team_limit: int | None, ttl_seconds: float) -> Hold | None:
        hold = await self.inner.reserve(user=user, team=team, tokens=tokens, at_least=at_least,
                                        user_limit=user_limit, team_limit=team_limit, ttl_seconds=ttl_seconds)
        metrics.BUDGET_RESERVED.labels("granted" if hold is not None else "refused").inc()
        return hold

    async def settle(self, hold: Hold, *, tokens: int, cost: float) -> None:
        await self.inner.settle(hold, tokens=tokens, cost=cost)
        metrics.BUDGET_TOKENS.inc(max(0, tokens))
        metrics.BUDGET_COST.inc(max(0.0, cost))

    async def spent(self, *, user: str, team: str) -> Spending:
        return await self.inner.spent(user=user, team=team)


class MeteredAudit(AuditLog):
    """Counts appends that failed (the caller defers them); everything else is the inner trail's."""

    def __init__(self, inner: AuditLog) -> None:
        self.inner = inner

    async def append(self, *, kind: str, run_id: str | None, actor: str | None, attrs: Mapping[str, Any],
                     event_id: str | None = None) -> None:
        try:
            await self.inner.append(kind=kind, run_id=run_id, actor=actor, attrs=attrs, event_id=event_id)
        except MapleError:
            metrics.AUDIT_FAILURES.inc()
            raise

    async def timeline(self, run_id: str) -> list[Any]:
        return await self.inner.timeline(run_id)

    def digest(self, text: str) -> str:
        return self.inner.digest(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class MeteredRunStore(RedisRunStore):
    """Counts runs entering each state: a new run enters ``queued``; a write that changes the state it was read
    in (every change goes through read, change, compare-and-set) counts the new state."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._seen: Recent[tuple[str, int], RunState] = Recent(SEEN_MAX)  # (run id, version) → state read in

    async def create(self, run: Run, *, job: Job | None = None, once: str | None = None) -> Run:
        saved = await super().create(run, job=job, once=once)
        metrics.RUNS.labels(saved.workflow or "-", saved.state.value).inc()
        return saved

    async def get(self, run_id: str) -> Run:
        return self._saw(await super().get(run_id))

    async def get_for_update(self, run_id: str) -> Run:
        return self._saw(await super().get_for_update(run_id))

    def _saw(self, run: Run) -> Run:
        self._seen.put((run.id, run.version), run.state)
        return run

    async def save(self, run: Run, *, job: Job | None = None) -> Run:
        before = self._seen.pop((run.id, run.version))
        saved = await super().save(run, job=job)
        if before is not None and before is not saved.state:
            metrics.RUNS.labels(saved.workflow or "-", saved.state.value).inc()
        return saved


def tool_observed(name: str, server: str | None, outcome: str) -> None:
    """The tool registry's hook: one call of ``name`` (an MCP tool when ``server`` is set) and how it ended."""
    metrics.TOOL_CALLS.labels(name, "mcp" if server else "maple", outcome).inc()


def _answered(done: Completion, name: str) -> dict[str, int | str]:
    """The GenAI attributes of a call's answer (counts and the model only, never text)."""
    return {"gen_ai.usage.input_tokens": done.input_tokens, "gen_ai.usage.output_tokens": done.output_tokens,
            "gen_ai.response.model": done.model or name}
