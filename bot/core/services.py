"""The bundle of ports and spec the core's use cases run with (built by bot/app.py)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from bot.core.access import Access
from bot.core.classify import Classifier
from bot.core.errors import ConflictError, MapleError
from bot.core.levels import Sensitivity
from bot.core.models import Job, PlannedCall, Run, ToolCall
from bot.core.ports import (
    AuditLog,
    Clock,
    Controls,
    ControlState,
    FeedbackLedger,
    JobQueue,
    People,
    RateLimiter,
    Retriever,
    RunStore,
    Stages,
    Surface,
    UsageLedger,
)
from bot.core.router import Router
from bot.core.spec import MapleSpec, StepSpec
from bot.core.tools.fence import fenced

log = logging.getLogger("maple.services")
Mutation = Callable[[Run], None]
Assessor = Callable[[str], tuple[Sensitivity, dict[str, int]]]


class ToolCaller(Protocol):
    """Runs a named tool for a run (see bot/core/tools): validates, checks clearance, returns text."""

    async def __call__(self, *, name: str, run: Run, step: StepSpec, level: Sensitivity,
                       draft: str | None = None) -> ToolOutput: ...

    def schemas(self) -> list[dict[str, Any]]: ...

    async def requested(self, *, call: ToolCall, run: Run, level: Sensitivity) -> ToolOutput:
        """Run a tool a model asked for: validated against its schema, clearance and allowlist. A call that
        changes something, to a tool whose side effects can wait for approval, is planned instead (``planned``)."""

    async def perform(self, *, call: PlannedCall, run: Run, level: Sensitivity) -> Performed:
        """Make an approved planned call (validated and cleared again); never raises a ToolError."""

    def time_limit(self, name: str) -> float:
        """The longest a call to tool ``name`` can take, in seconds."""


@dataclass(frozen=True)
class ToolOutput:
    text: str
    level: Sensitivity
    hits: dict[str, int]
    source: str | None = None
    source_kind: str | None = None
    readers: frozenset[str] | None = None
    count: int = 0  # messages read, for a conversation
    untrusted: str | None = None  # the tool's name, when its text must reach models fenced as data
    planned: PlannedCall | None = None  # a side effect planned for approval instead of made
    floor: Sensitivity = Sensitivity.PUBLIC  # the least level the tool declares for what it returns

    def for_model(self, limit: int) -> str:
        cut = self.text[:limit]
        return fenced(self.untrusted, cut) if self.untrusted else cut


@dataclass(frozen=True)
class Performed:
    """What became of an approved call: its output, or the error; ``unknown`` when it may or may not have
    happened (a timeout, a connection lost during the call); ``attrs`` for its audit event."""

    output: ToolOutput | None
    error: str | None = None
    unknown: bool = False
    attrs: dict[str, Any] | None = None
    level: Sensitivity = Sensitivity.PUBLIC  # of the error's text (a server's own words): assessed like output
    hits: dict[str, int] | None = None


def no_assessment(default: Sensitivity) -> Assessor:
    return lambda _text: (default, {})


@dataclass(frozen=True, kw_only=True)
class Services:
    spec: MapleSpec
    store: RunStore
    queue: JobQueue
    surface: Surface
    router: Router
    access: Access
    audit: AuditLog
    clock: Clock
    ledger: UsageLedger | None = None
    assess: Assessor | None = None
    tools: ToolCaller | None = None
    limiter: RateLimiter | None = None
    knowledge: Retriever | None = None
    controls: Controls | None = None
    people: People | None = None  # people's Slack locale and zone (users.info), for what only they read
    feedback: FeedbackLedger | None = None
    streaming: bool = False  # answers that need no review may stream into their thread (bot/core/streaming.py)
    stages: Stages | None = None  # spans of each run's stages; None: tracing is off, and costs nothing
    classifier: Classifier | None = None  # which workflow a goal asks for (the desk's, and a deferred intake's)

    def control_state(self) -> ControlState:
        return self.controls.current() if self.controls is not None else ControlState()

    def stage(self, name: str, run_id: str | None = None, **attrs: Any) -> AbstractContextManager[object]:
        """A span for one stage of a run (``stages``), or nothing when tracing is off."""
        if self.stages is None:
            return nullcontext()
        return self.stages.span(name, run_id=run_id, attrs=attrs)

    def traced(self, trace: str | None) -> AbstractContextManager[object]:
        """Spans opened inside join the run's trace (``trace``: the traceparent persisted with the run)."""
        return nullcontext() if self.stages is None else self.stages.within(trace)

    def waited(self, name: str, run_id: str, *, start: datetime | None, end: datetime, **attrs: Any) -> None:
        """A span for a wait that is over (queue wait, review wait)."""
        if self.stages is not None and start is not None and end >= start:
            self.stages.past(name, run_id=run_id, start=start, end=end, attrs=attrs)

    def trace_context(self) -> str | None:
        return self.stages.context() if self.stages is not None else None

    def stamped(self, job: Job | None, run: Run) -> Job | None:
        """A job carries its run's trace context and when it was enqueued, when tracing is on."""
        if job is None or self.stages is None or run.trace is None:
            return job
        return job.model_copy(update={"trace": job.trace or run.trace, "queued_at": self.clock.now()})

    def assessment(self, text: str) -> tuple[Sensitivity, dict[str, int]]:
        return (self.assess or no_assessment(self.spec.sensitivity.default))(text)

    async def mutate(
        self, run_id: str, change: Mutation, *, job: Job | Callable[[Run], Job | None] | None = None, attempts: int = 8
    ) -> Run:
        """Read, apply ``change`` and write with optimistic concurrency, re-reading on conflict.

        ``change`` may raise (e.g. InvalidTransition) to abort without writing. The first read may be this
        process's last copy of the run (``get_for_update``: no round trip); the compare-and-set refuses it if it
        was stale, and a ``change`` that refuses it is asked again on a fresh read, so every decision is made
        on the stored run.
        """
        fresh = False
        for _ in range(attempts):
            run = await (self.store.get(run_id) if fresh else self.store.get_for_update(run_id))
            try:
                change(run)
            except Exception:
                if fresh:
                    raise
                fresh = True  # refused on a copy that may be stale: decide again on the stored run
                continue
            run.updated_at = self.clock.now()
            try:
                saved = await self.store.save(run, job=self.stamped(job(run) if callable(job) else job, run))
            except ConflictError:
                fresh = True
                continue
            return await self.flush_audit(saved) if saved.outbox else saved
        raise ConflictError(f"run {run_id} kept changing under us")

    async def flush_audit(self, run: Run) -> Run:
        """Append the audit events written on the run (record, then act, then mark done). Each carries its id,
        so a crash between the append and the clean-up appends it once. If the trail cannot be reached, the
        events stay on the run and the next job on it appends them."""
        pending = list(run.outbox)
        try:
            for intent in pending:
                await self.audit.append(kind=intent.kind, run_id=run.id, actor=intent.actor, attrs=intent.attrs,
                                        event_id=intent.id)
        except MapleError as exc:
            log.warning("audit append deferred", extra={"run_id": run.id, "error": type(exc).__name__})
            return run
        done = {intent.id for intent in pending}

        def clear(r: Run) -> None:
            r.outbox = [i for i in r.outbox if i.id not in done]

        return await self.mutate(run.id, clear)


    async def record(
        self, kind: str, run: Run | None, *, actor: str | None = None, attrs: Mapping[str, Any] | None = None
    ) -> None:
        await self.audit.append(kind=kind, run_id=run.id if run else None, actor=actor, attrs=attrs or {})


Step = Callable[[Services, Run], Awaitable[Run]]
