"""Ports: the small abstract interfaces the core depends on. Adapters in integrations/ and handlers/ implement them."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, Literal, NamedTuple, Protocol, Self, TypeVar

from pydantic import BaseModel

from bot.core.audit import AuditEvent, SignedPoint
from bot.core.audit_attrs import text_attrs
from bot.core.errors import SurfaceError
from bot.core.models import ChatMessage, Completion, Job, Run
from bot.core.text import Msg

T = TypeVar("T")


class Lifecycle:
    """Explicit lifecycle: ``async with adapter:`` opens and closes its resources."""

    async def open(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def __aenter__(self) -> Self:
        await self.open()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()


class Stages(Protocol):
    """Where the core marks the stages of a run (OpenTelemetry spans: ``integrations.tracing``). Attributes are
    ids, names, counts and levels — never a goal, prompt, draft or answer. Absent (None on Services): nothing."""

    def context(self) -> str | None:
        """The current trace context as a W3C traceparent, to persist with a run (one trace per run)."""

    def within(self, trace: str | None) -> AbstractContextManager[object]:
        """Make ``trace`` (a traceparent, or None) the parent of the spans opened inside."""

    def span(self, name: str, *, run_id: str | None, attrs: Mapping[str, Any]) -> AbstractContextManager[object]:
        """A span for one stage, current while the block runs."""

    def past(self, name: str, *, run_id: str, start: datetime, end: datetime, attrs: Mapping[str, Any]) -> None:
        """A span for a stage that happened between ``start`` and ``end`` (a wait: queue, review)."""


class Clock(ABC):
    @abstractmethod
    def now(self) -> datetime: ...


class SystemClock(Clock):
    def now(self) -> datetime:
        return datetime.now(UTC)


class ChatModel(Lifecycle, ABC):
    """One model endpoint. Raises ModelUnavailable for 429/5xx/timeouts, ModelResponseError for garbage."""

    name: str

    @abstractmethod
    async def complete(
        self,
        *,
        messages: Sequence[ChatMessage],
        max_tokens: int,
        timeout: float,
        tools: Sequence[Mapping[str, Any]] | None = None,
    ) -> Completion: ...

    async def stream(
        self, *, messages: Sequence[ChatMessage], max_tokens: int, timeout: float
    ) -> AsyncIterator[str | Completion]:
        """A streamed generation (no tools): text deltas as the model writes them, then the whole ``Completion``
        (its text is the deltas joined, its usage reported or estimated) as the last item. The same deadline,
        errors and usage checks as ``complete``; an error may come after some deltas. This default streams
        nothing until the end: one delta, the whole text."""
        done = await self.complete(messages=messages, max_tokens=max_tokens, timeout=timeout)
        if done.text:
            yield done.text
        yield done


class RunStore(Lifecycle, ABC):
    """Durable runs with optimistic concurrency: ``save`` succeeds only if ``run.version`` is current."""

    @abstractmethod
    async def create(self, run: Run, *, job: Job | None = None, once: str | None = None) -> Run:
        """Persist a new run and, in the same atomic write, enqueue ``job``. ``once``: a request's key that may be
        used once (its signature, as the front door checks it): the write happens only if the key was never used
        and marks it used; else AlreadyUsed and nothing is written."""

    @abstractmethod
    async def get(self, run_id: str) -> Run:
        """Raise NotFound when there is no such run."""

    @abstractmethod
    async def save(self, run: Run, *, job: Job | None = None) -> Run:
        """Write ``run`` if the stored version equals ``run.version``; return it with the version bumped.
        ``job`` is enqueued in the same atomic write. Raise ConflictError otherwise."""

    @abstractmethod
    async def erase(self, run_id: str) -> bool:
        """Delete a run record for good (its thread index entries, a run id each, expire with their TTL). True
        when there was a record."""

    async def ids_created_before(self, at: datetime) -> list[str]:
        """Ids of the runs created before ``at`` that have not expired (the retention sweep's candidates)."""
        return [r.id for r in await self.since(datetime(1970, 1, 1, tzinfo=UTC), limit=100_000) if r.created_at < at]

    async def get_for_update(self, run_id: str) -> Run:
        """The run as this process last wrote or read it, to change and ``save``: possibly stale, which the
        compare-and-set of ``save`` catches (ConflictError), so it is for read-change-write only, never for a
        decision made on what it says. This default reads the store."""
        return await self.get(run_id)

    @abstractmethod
    async def list_failed(self, *, limit: int = 50) -> list[Run]: ...

    @abstractmethod
    async def since(self, at: datetime, *, limit: int = 5000) -> list[Run]:
        """Runs created at or after ``at`` that have not expired, oldest first: the newest ``limit`` of them."""

    @abstractmethod
    async def ping(self) -> bool: ...

    async def thread_run(self, *, channel: str, thread_ts: str) -> str | None:
        """The id of the run a reply in this thread follows up: the newest run started in it, else the run whose
        result or run message heads it — whether or not that run still exists (a purged run's id is still
        found, so a reply there is told so instead of starting a new run). This default reads the last week's
        runs; the Redis store keeps an index by thread, written with the run."""
        return run_of_thread(await self.since(datetime.now(UTC) - timedelta(days=7), limit=5000),
                             channel=channel, thread_ts=thread_ts)


def run_of_thread(runs: Sequence[Run], *, channel: str, thread_ts: str) -> str | None:
    """Among ``runs`` (oldest first): the newest started in the thread, else the one whose answer heads it."""
    key = (channel, thread_ts)
    started = next((r for r in reversed(runs) if r.origin_thread() == key), None)
    if started is not None:
        return started.id
    return next((r.id for r in reversed(runs) if key in r.answer_threads()), None)


class JobQueue(Lifecycle, ABC):
    @abstractmethod
    async def enqueue(self, job: Job) -> None: ...

    async def stats(self) -> QueueStats | None:
        """How busy the queue is (None: this queue cannot tell)."""
        return None

    @abstractmethod
    async def enqueue_at(self, job: Job, *, at: datetime) -> None:
        """Enqueue ``job`` once ``at`` has passed (review timeouts)."""


@dataclass(frozen=True, kw_only=True)
class Person:
    """What Slack says about a person that changes how Maple speaks to them (``users.info``): their time zone
    (IANA) and their locale (``en-US``, ``fr-CA``). None when it is not known in time."""

    timezone: str | None = None
    locale: str | None = None


class People(ABC):
    """People's own zone and language, looked up within the ack path's budget (cached)."""

    @abstractmethod
    async def person(self, user: str) -> Person: ...

    def known(self, user: str) -> Person | None:
        """What is already known of ``user``, without waiting (None: nothing yet); an adapter that caches starts
        the look-up in the background, so it is known next time."""
        return None


class Directory(ABC):
    """Who belongs to a Slack user group or channel, and who is a member of the served workspace (resolved by
    the surface, cached)."""

    @abstractmethod
    async def group_members(self, group_id: str) -> frozenset[str]: ...

    @abstractmethod
    async def channel_members(self, channel_id: str) -> frozenset[str]:
        """Members of a channel (``C…``/``G…``): for roles naming a channel, and for who reads a destination.
        An empty set when the answer is not known (fail closed)."""

    @abstractmethod
    async def guests(self) -> frozenset[str] | None:
        """Every guest account of the workspace (None when it is not known)."""

    @abstractmethod
    async def is_local(self, user: str) -> bool:
        """Is ``user`` a member of a workspace Maple serves (not a Slack Connect user, a stranger, a bot or a
        deactivated account)? Answered within the ack path's budget; not known in time → False (fail closed)."""

    @abstractmethod
    async def is_active(self, user: str) -> bool:
        """Does ``user``'s account still exist and is it not deactivated (someone who left)? Unlike ``is_local``,
        a Slack Connect user counts. Raises SurfaceUnavailable when this is not known (asked again later)."""

    async def known_members(self, source: str) -> frozenset[str] | None:
        """Members of a user group (``S…``) or channel (``C…``/``G…``) as known within the ack path's budget;
        None when the answer is not known in time (it keeps loading in the background)."""
        if source.startswith("S"):
            return await self.group_members(source)
        return await self.channel_members(source)


@dataclass(frozen=True, kw_only=True)
class View:
    """A neutral description of a message; the surface renders it (Block Kit for Slack)."""

    kind: str
    run: Run | None = None
    text: Msg | None = None
    banner: Msg | None = None
    buttons: bool = False
    options: list[tuple[str, str, str]] = field(default_factory=list)  # (workflow id, title, description)
    language: str = "en"  # of the labels the surface adds (buttons)
    viewer: str | None = None  # the one person who sees this message (a review in their DM), when known
    notice: Msg | None = None  # a warning shown with the run (nobody left to approve)


class MessageRef(BaseModel):
    channel: str
    ts: str


class Place(BaseModel):
    """What kind of destination a channel is, for the sensitivity rules of ``channels:`` in the config."""

    kind: Literal["public", "private", "dm", "shared"]


class Surface(ABC):
    """Where Maple talks to people. Idempotency keys (run id + effect) travel with every post."""

    @abstractmethod
    async def place(self, *, channel: str) -> Place: ...

    @abstractmethod
    async def is_guest(self, *, user: str) -> bool: ...

    @abstractmethod
    async def check_member(self, *, channel: str) -> None:
        """Raise NotInChannel when Maple cannot post to ``channel``."""

    @abstractmethod
    async def open_dm(self, *, user: str) -> str: ...

    @abstractmethod
    async def post(
        self, *, channel: str, view: View, run_id: str, effect: str, thread_ts: str | None = None
    ) -> MessageRef: ...

    @abstractmethod
    async def find_posted(
        self, *, channel: str, run_id: str, effect: str, thread_ts: str | None = None
    ) -> MessageRef | None: ...

    @abstractmethod
    async def update(self, *, ref: MessageRef, view: View) -> None: ...

    @abstractmethod
    async def post_ephemeral(self, *, channel: str, user: str, text: Msg, thread_ts: str | None = None,
                             view: View | None = None) -> None:
        """A message only ``user`` sees, in ``channel`` (a thread of it): ``text``, or ``view`` when it has
        buttons (an ask-back). Raises SurfaceError when Slack cannot show it there."""

    async def respond(self, *, url: str, view: View) -> None:
        """Answer a slash command later through its ``response_url``: the command's ephemeral answer is replaced
        by ``view``. Raise SurfaceError when the URL is not Slack's, has expired or is refused (the caller then
        tells the person another way)."""
        raise SurfaceError("this surface cannot answer through a response_url")

    async def start_stream(self, *, channel: str, thread_ts: str, run_id: str, recipient: str,
                           team: str | None) -> MessageRef:
        """Start a message that grows as text is appended (``chat.startStream``), a reply in ``thread_ts`` read by
        ``recipient``. Raise SurfaceError when this surface cannot stream (the answer is then posted whole)."""
        raise SurfaceError("this surface does not stream")

    async def append_stream(self, *, ref: MessageRef, text: str) -> None:
        """Append ``text`` (already checked) to a started stream (``chat.appendStream``)."""
        raise SurfaceError("this surface does not stream")

    async def stop_stream(self, *, ref: MessageRef, run_id: str | None = None, effect: str | None = None) -> None:
        """End a stream (``chat.stopStream``); its message stays, and ``update`` may then replace it. With
        ``run_id`` and ``effect`` the message is marked like a post (found again by ``find_posted``)."""
        raise SurfaceError("this surface does not stream")

    async def delete(self, *, ref: MessageRef) -> None:
        """Delete a message Maple posted (``maple purge``, retention). Raises SurfaceError when it cannot; a
        message already gone is not an error."""
        return None

    async def set_status(self, *, channel: str, thread_ts: str, status: Msg | None) -> None:
        """Show what Maple is doing in an assistant-pane thread ("is drafting…"); ``None`` clears it. Cosmetic:
        a surface without a pane does nothing, and a failure is never a reason to fail a run."""
        return None


class AuditLog(ABC):
    """The tamper-evident audit trail (see bot/core/audit.py). Every adapter seals events with
    ``bot.core.audit.seal``, so every adapter refuses the same attributes (``UnsafeAttribute``)."""

    @abstractmethod
    async def append(
        self, *, kind: str, run_id: str | None, actor: str | None, attrs: Mapping[str, Any],
        event_id: str | None = None,
    ) -> None:
        """Append one event. With ``event_id``, appending an id already in the trail is a no-op that returns
        normally (record-then-act: pending events may be flushed twice after a crash)."""

    @abstractmethod
    async def timeline(self, run_id: str) -> list[AuditEvent]:
        """One run's events in time order."""

    @abstractmethod
    def digest(self, text: str) -> str:
        """A keyed digest (``kid:hex``) of a text the audit must not keep; never a plain hash."""

    def text_attrs(
        self, name: str, text: str | None, *, hits: Mapping[str, int] | None = None
    ) -> dict[str, Any]:
        """What the audit keeps of a free text (a reason, a note, a goal): ``{name}.hmac``, ``{name}.length``
        and optionally ``{name}.hits``; nothing for ``None``."""
        return text_attrs(name, text, digest=self.digest, hits=hits)


class AuditAnchoring(ABC):
    """Signs chain heads outside the store (anchors). Only the process holding the anchor key has one."""

    @abstractmethod
    async def anchor(self) -> list[SignedPoint]:
        """Anchor every chain head that moved since the last anchor; return the signed points written."""


class Hold(BaseModel):
    """Tokens set aside for one model call until it is settled — or until ``ttl`` passes, if its worker died."""

    id: str
    user: str
    team: str
    day: str
    tokens: int


class Spending(NamedTuple):
    """Today's usage of a user and of their team: tokens and cost settled, tokens held by calls in flight."""

    user_tokens: int
    team_tokens: int
    user_cost_usd: float = 0.0
    team_cost_usd: float = 0.0
    user_reserved: int = 0
    team_reserved: int = 0


class UsageLedger(ABC):
    """Tokens and cost per user and per team per UTC day (budgets), kept outside the run.

    The only way usage grows is ``settle``: every model call first ``reserve``s its worst case, then settles what it
    really used (0 releases the hold). Nothing ever makes spent tokens or cost decrease.
    """

    @abstractmethod
    async def reserve(
        self,
        *,
        user: str,
        team: str,
        tokens: int,
        at_least: int,
        user_limit: int | None,
        team_limit: int | None,
        ttl_seconds: float,
    ) -> Hold | None:
        """In one atomic step, hold ``tokens`` against today's user and team budgets (what is spent plus what
        other calls hold must stay within each limit) — or, when less is left, all that is left if that is at
        least ``at_least``. None when refused. Limits of None hold without checking (free models: their tokens
        count, they are never refused). The hold lapses after ``ttl_seconds`` unless settled first."""

    @abstractmethod
    async def settle(self, hold: Hold, *, tokens: int, cost: float) -> None:
        """Replace ``hold`` by what the call really used (``tokens=0`` releases it); a second settle of the same
        hold changes nothing. Refuses negative usage (ValueError)."""

    @abstractmethod
    async def spent(self, *, user: str, team: str) -> Spending: ...


class Compute(Lifecycle, ABC):
    """Runs CPU-bound work on untrusted input away from the event loop that serves Slack, with a hard time limit.

    ``fn`` is a module-level function and ``args`` are picklable (the work may run in another process). Errors ``fn``
    raises on purpose (``ToolError``) come back as they are; past ``timeout`` seconds the work is stopped — not
    left running — and ``ToolFailed`` is raised, as it is when the work crashes."""

    @abstractmethod
    async def run(self, fn: Callable[..., T], *args: Any, timeout: float) -> T: ...


@dataclass(frozen=True, kw_only=True)
class Bucket:
    """A token bucket: ``capacity`` tokens, refilled at ``capacity`` per ``per_seconds``."""

    key: str
    capacity: int
    per_seconds: float
    scope: str = ""


@dataclass(frozen=True)
class Verdict:
    """``allowed``: a token was taken from every bucket. Otherwise nothing was taken, ``retry_after`` seconds
    from now every bucket has one again, and ``scope`` names the empty bucket that is last to refill."""

    allowed: bool
    retry_after: float = 0.0
    scope: str = ""


class RateLimiter(ABC):
    """Token buckets shared by every Maple process (per-user and per-team throttles at intake)."""

    @abstractmethod
    async def take(self, buckets: Sequence[Bucket], *, once: str | None = None) -> Verdict:
        """Take one token from each bucket, atomically: from all of them or from none. ``once``: the start this
        take counts (a run's id): taken once — a later take for it is allowed and takes nothing.
        Raise StoreUnavailable when the buckets cannot be reached."""


@dataclass(frozen=True, kw_only=True)
class Passage:
    """A piece of an approved document that answers a query: its text (untrusted: data, never instructions) and
    where it came from. ``score`` is the retriever's own (higher is more relevant)."""

    id: str
    collection: str
    document: str
    title: str
    section: str
    text: str
    score: float
    link: str | None = None
    # the detectors' verdict when the passage was ingested, and the sensitivity config it was reached with
    assessed_level: str | None = None
    assessed_hits: Mapping[str, int] = field(default_factory=dict)
    assessed_with: str | None = None


@dataclass(frozen=True, kw_only=True)
class CollectionInfo:
    name: str
    documents: int
    chunks: int
    ingested_at: datetime | None


class Retriever(Lifecycle, ABC):
    """The knowledge base: collections of approved documents, searched without blocking the event loop. A finished
    ingest is seen by every process within seconds; a half-written one never is."""

    @abstractmethod
    async def search(self, *, query: str, collections: Sequence[str], top_k: int, embed: bool) -> list[Passage]:
        """The most relevant passages of ``collections`` only — none below the relevance threshold, so an empty
        list means nothing relevant. ``embed``: the query may be sent to the embedding model (when one is on)."""

    @abstractmethod
    async def quotes(self, *, query: str, passages: Sequence[Passage], limit: int) -> list[tuple[int, str]]:
        """The sentences of ``passages`` that best answer ``query``, as (index into ``passages``, sentence)."""

    @abstractmethod
    async def describe(self, collections: Sequence[str]) -> list[CollectionInfo]: ...


@dataclass(frozen=True, kw_only=True)
class ControlState:
    """What operators have switched on (``maple control …``): ``freeze_external`` routes every step only to
    models that never leave the deployment; ``intake_paused`` refuses new goals with a clear message."""

    freeze_external: bool = False
    intake_paused: bool = False


class Controls(ABC):
    """The operator controls in force, shared by every process. ``current`` is read on every routing decision
    and every goal, so it answers from memory; the adapter keeps it fresh within seconds."""

    @abstractmethod
    def current(self) -> ControlState: ...

    def backlog(self) -> QueueStats | None:
        """The queue as last seen (within seconds), for backpressure notices; None when not known."""
        return None


@dataclass(frozen=True, kw_only=True)
class QueueStats:
    """How busy the work queue is: unfinished jobs, those waiting for a worker, the oldest one's age."""

    depth: int
    waiting: int
    oldest_seconds: float
    dead: int = 0


@dataclass(frozen=True, kw_only=True)
class Tally:
    """Votes on delivered answers of one workflow by one model."""

    workflow: str
    model: str
    up: int = 0
    down: int = 0


class FeedbackLedger(ABC):
    """👍 / 👎 on delivered answers, shared by every Maple process: one vote per person per run, counted per
    workflow and model."""

    @abstractmethod
    async def vote(self, *, run_id: str, user: str, workflow: str, model: str, positive: bool) -> bool:
        """Record a vote and count it, atomically; False — and nothing counted — when this person already voted on
        this run. Raise StoreUnavailable when the ledger cannot be reached."""

    @abstractmethod
    async def tallies(self) -> list[Tally]:
        """Every (workflow, model) that has votes, sorted by workflow then model."""
