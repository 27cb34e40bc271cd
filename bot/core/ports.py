"""Ports: the small abstract interfaces the core depends on. Adapters in integrations/ and handlers/ implement them."""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Literal, NamedTuple, Self

from pydantic import BaseModel

from bot.core.models import ChatMessage, Completion, Job, Run


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


class RunStore(Lifecycle, ABC):
    """Durable runs with optimistic concurrency: ``save`` succeeds only if ``run.version`` is current."""

    @abstractmethod
    async def create(self, run: Run, *, job: Job | None = None) -> Run:
        """Persist a new run and, in the same atomic write, enqueue ``job``."""

    @abstractmethod
    async def get(self, run_id: str) -> Run:
        """Raise NotFound when there is no such run."""

    @abstractmethod
    async def save(self, run: Run, *, job: Job | None = None) -> Run:
        """Write ``run`` if the stored version equals ``run.version``; return it with the version bumped.
        ``job`` is enqueued in the same atomic write. Raise ConflictError otherwise."""

    @abstractmethod
    async def list_failed(self, *, limit: int = 50) -> list[Run]: ...

    @abstractmethod
    async def ping(self) -> bool: ...


class JobQueue(Lifecycle, ABC):
    @abstractmethod
    async def enqueue(self, job: Job) -> None: ...

    @abstractmethod
    async def enqueue_at(self, job: Job, *, at: datetime) -> None:
        """Enqueue ``job`` once ``at`` has passed (review timeouts)."""


class Directory(ABC):
    """Who belongs to a Slack user group (resolved by the surface, cached)."""

    @abstractmethod
    async def group_members(self, group_id: str) -> frozenset[str]: ...

    @abstractmethod
    async def channel_members(self, channel_id: str) -> frozenset[str]:
        """Members of a channel named in a role (``C…``/``G…``): everyone in it holds the role."""


class View(BaseModel):
    """A neutral description of a message; the surface renders it (Block Kit for Slack)."""

    kind: str
    run: Run | None = None
    text: str = ""
    banner: str | None = None
    buttons: bool = False
    options: list[tuple[str, str]] = []


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
    async def post_ephemeral(self, *, channel: str, user: str, text: str) -> None: ...


class AuditLog(ABC):
    @abstractmethod
    async def append(
        self, *, kind: str, run_id: str | None, actor: str | None, attrs: Mapping[str, Any]
    ) -> None: ...

    def digest(self, text: str) -> str:
        """A keyed digest of text the audit must not keep (prompts); adapters with a key use an HMAC."""
        return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


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
