"""Ports: the small abstract interfaces the core depends on. Adapters in integrations/ and handlers/ implement them."""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Literal, Self

from pydantic import BaseModel

from bot.core.audit import AuditEvent
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
    """Who belongs to a Slack user group or channel, and who is a member of the served workspace (resolved by
    the surface, cached)."""

    @abstractmethod
    async def group_members(self, group_id: str) -> frozenset[str]: ...

    @abstractmethod
    async def channel_members(self, channel_id: str) -> frozenset[str]:
        """Members of a channel named in a role (``C…``/``G…``): everyone in it holds the role."""

    @abstractmethod
    async def is_local(self, user: str) -> bool:
        """Is ``user`` a member of a workspace Maple serves (not a Slack Connect user, a stranger, a bot or a
        deactivated account)? Answered within the ack path's budget; not known in time → False (fail closed)."""

    async def known_members(self, source: str) -> frozenset[str] | None:
        """Members of a user group (``S…``) or channel (``C…``/``G…``) as known within the ack path's budget;
        None when the answer is not known in time (it keeps loading in the background)."""
        if source.startswith("S"):
            return await self.group_members(source)
        return await self.channel_members(source)


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
    async def post_ephemeral(self, *, channel: str, user: str, text: str, thread_ts: str | None = None) -> None: ...


class AuditLog(ABC):
    @abstractmethod
    async def append(
        self, *, kind: str, run_id: str | None, actor: str | None, attrs: Mapping[str, Any]
    ) -> None: ...

    @abstractmethod
    async def timeline(self, run_id: str) -> list[AuditEvent]:
        """One run's events in time order."""

    def digest(self, text: str) -> str:
        """A keyed digest of text the audit must not keep (prompts); adapters with a key use an HMAC."""
        return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


class UsageLedger(ABC):
    """Tokens and cost per user and per team per day (budgets), kept outside the run."""

    @abstractmethod
    async def add(self, *, user: str, team: str, tokens: int, cost: float) -> None: ...

    @abstractmethod
    async def spent(self, *, user: str, team: str) -> tuple[int, int]:
        """(tokens the user spent today, tokens the team spent today)."""


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
    async def take(self, buckets: Sequence[Bucket]) -> Verdict:
        """Take one token from each bucket, atomically: from all of them or from none.
        Raise StoreUnavailable when the buckets cannot be reached."""
