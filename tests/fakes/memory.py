"""In-memory fakes of the core's ports, for unit tests of the core."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.core.audit import GENESIS, AuditEvent, seal
from bot.core.errors import ConflictError, ModelUnavailable, NotFound, NotInChannel
from bot.core.models import ChatMessage, Completion, Job, Run
from bot.core.ports import (
    AuditLog,
    ChatModel,
    Clock,
    Directory,
    JobQueue,
    MessageRef,
    Place,
    RunStore,
    Surface,
    View,
)


class MemoryStore(RunStore):
    def __init__(self) -> None:
        self.docs: dict[str, str] = {}
        self.jobs: list[Job] = []
        self.later: list[tuple[datetime, Job]] = []

    async def create(self, run: Run, *, job: Job | None = None) -> Run:
        if run.id in self.docs:
            raise ConflictError(run.id)
        return self._put(run.model_copy(update={"version": 0}), job)

    def _put(self, run: Run, job: Job | None) -> Run:
        new = run.model_copy(update={"version": run.version + 1})
        self.docs[run.id] = new.model_dump_json()
        if job:
            self.jobs.append(job)
        return new

    async def save(self, run: Run, *, job: Job | None = None) -> Run:
        current = await self.get(run.id)
        if current.version != run.version:
            raise ConflictError(run.id)
        return self._put(run, job)

    async def get(self, run_id: str) -> Run:
        if run_id not in self.docs:
            raise NotFound(run_id)
        return Run.model_validate_json(self.docs[run_id])

    async def list_failed(self, *, limit: int = 50) -> list[Run]:
        return []

    async def ping(self) -> bool:
        return True


class MemoryQueue(JobQueue):
    def __init__(self, store: MemoryStore) -> None:
        self.store = store

    async def enqueue(self, job: Job) -> None:
        self.store.jobs.append(job)

    async def enqueue_at(self, job: Job, *, at: datetime) -> None:
        self.store.later.append((at, job))


class MemorySurface(Surface, Directory):
    def __init__(self, *, groups: dict[str, set[str]] | None = None, not_member: set[str] | None = None) -> None:
        self.posts: list[dict[str, Any]] = []
        self.updates: list[tuple[MessageRef, View]] = []
        self.ephemerals: list[tuple[str, str, str]] = []
        self.groups = groups or {}
        self.not_member = not_member or set()
        self.kinds: dict[str, str] = {}
        self.guests: set[str] = set()
        self.external: set[str] = set()  # Slack Connect users: not members of the served workspace

    async def place(self, *, channel: str) -> Place:
        if channel.startswith("D"):
            return Place(kind="dm")
        return Place(kind=self.kinds.get(channel, "public"))  # type: ignore[arg-type]

    async def is_guest(self, *, user: str) -> bool:
        return user in self.guests

    async def check_member(self, *, channel: str) -> None:
        if channel in self.not_member:
            raise NotInChannel(channel)

    async def open_dm(self, *, user: str) -> str:
        return "D-" + user

    async def post(self, *, channel: str, view: View, run_id: str, effect: str,
                   thread_ts: str | None = None) -> MessageRef:
        ref = MessageRef(channel=channel, ts=f"{len(self.posts) + 1}.0")
        self.posts.append({"channel": channel, "view": view, "run_id": run_id, "effect": effect,
                           "thread_ts": thread_ts, "ts": ref.ts})
        return ref

    async def find_posted(self, *, channel: str, run_id: str, effect: str,
                          thread_ts: str | None = None) -> MessageRef | None:
        for p in self.posts:
            if p["channel"] == channel and p["run_id"] == run_id and p["effect"] == effect:
                return MessageRef(channel=channel, ts=p["ts"])
        return None

    async def update(self, *, ref: MessageRef, view: View) -> None:
        self.updates.append((ref, view))

    async def post_ephemeral(self, *, channel: str, user: str, text: str, thread_ts: str | None = None) -> None:
        self.ephemerals.append((channel, user, text))

    async def group_members(self, group_id: str) -> frozenset[str]:
        return frozenset(self.groups.get(group_id, set()))

    async def channel_members(self, channel_id: str) -> frozenset[str]:
        return frozenset(self.groups.get(channel_id, set()))

    async def is_local(self, user: str) -> bool:
        return user not in self.external


class MemoryAudit(AuditLog):
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    async def append(self, *, kind: str, run_id: str | None, actor: str | None, attrs: Mapping[str, Any]) -> None:
        self.events.append({"kind": kind, "run_id": run_id, "actor": actor, **attrs})

    async def timeline(self, run_id: str) -> list[AuditEvent]:
        mine = [e for e in self.events if e["run_id"] == run_id]
        return [seal(b"memory-audit-key", shard="2026-01-01/memory", seq=i + 1, prev=GENESIS, kind=e["kind"],
                     run_id=run_id, actor=e["actor"], ts=datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=i),
                     attrs={k: v for k, v in e.items() if k not in ("kind", "run_id", "actor")})
                for i, e in enumerate(mine)]


class FixedClock(Clock):
    def __init__(self, start: datetime | None = None) -> None:
        self.at = start or datetime(2026, 11, 24, 14, 2, tzinfo=UTC)

    def now(self) -> datetime:
        return self.at

    def advance(self, seconds: float) -> None:
        self.at += timedelta(seconds=seconds)


class ScriptedModel(ChatModel):
    """Answers from a script: a string is a reply, an exception instance is raised."""

    def __init__(self, name: str, *script: str | Exception | Completion, default: str = "A draft.") -> None:
        self.name = name
        self.tools_offered: list[list[str]] = []
        self.script = list(script)
        self.default = default
        self.seen: list[list[ChatMessage]] = []

    async def complete(self, *, messages: Sequence[ChatMessage], max_tokens: int, timeout: float,
                       tools: Sequence[Mapping[str, Any]] | None = None) -> Completion:
        self.seen.append(list(messages))
        self.tools_offered.append([t["function"]["name"] for t in tools or []])
        step = self.script.pop(0) if self.script else self.default
        if isinstance(step, Exception):
            raise step
        if isinstance(step, Completion):
            return step
        return Completion(text=step, model=self.name, input_tokens=10, output_tokens=5)


def unavailable(why: str = "429") -> ModelUnavailable:
    return ModelUnavailable(why)
