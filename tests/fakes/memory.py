"""In-memory fakes of the core's ports, for unit tests of the core."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.core.audit import GENESIS, AuditEvent, ChainPoint, seal
from bot.core.audit_keys import Keyring, keyed_digest
from bot.core.errors import AlreadyUsed, ConflictError, ModelUnavailable, NotFound, NotInChannel, SurfaceError
from bot.core.models import ChatMessage, Completion, Job, Run
from bot.core.ports import (
    AuditLog,
    ChatModel,
    Clock,
    Controls,
    ControlState,
    Directory,
    FeedbackLedger,
    Hold,
    JobQueue,
    MessageRef,
    Place,
    QueueStats,
    RunStore,
    Spending,
    Surface,
    SystemClock,
    Tally,
    UsageLedger,
    View,
    run_of_thread,
)
from bot.core.text import Msg


class MemoryStore(RunStore):
    def __init__(self) -> None:
        self.docs: dict[str, str] = {}
        self.jobs: list[Job] = []
        self.later: list[tuple[datetime, Job]] = []
        self.used: set[str] = set()  # the keys ``create(once=…)`` consumed

    async def create(self, run: Run, *, job: Job | None = None, once: str | None = None) -> Run:
        if run.id in self.docs:
            raise ConflictError(run.id)
        if once is not None:
            if once in self.used:
                raise AlreadyUsed(once)
            self.used.add(once)
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

    async def since(self, at: datetime, *, limit: int = 5000) -> list[Run]:
        runs = [Run.model_validate_json(doc) for doc in self.docs.values()]
        return sorted((r for r in runs if r.created_at >= at), key=lambda r: r.created_at)[-limit:] if limit else []

    async def erase(self, run_id: str) -> bool:
        return self.docs.pop(run_id, None) is not None

    async def list_failed(self, *, limit: int = 50) -> list[Run]:
        return []

    async def thread_run(self, *, channel: str, thread_ts: str) -> str | None:
        return run_of_thread(await self.since(datetime.min.replace(tzinfo=UTC)), channel=channel, thread_ts=thread_ts)

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
        self.deleted: list[MessageRef] = []
        self.ephemerals: list[tuple[str, str, str]] = []
        self.groups = groups or {}
        self.not_member = not_member or set()
        self.kinds: dict[str, str] = {}
        self.guests_set: set[str] = set()
        self.everyone = {"U0REQUEST", "U0REVIEW", "U0REVIEW2", "U0ADMIN"}  # members of a channel unless set
        self.external: set[str] = set()  # Slack Connect users: not members of the served workspace
        self.deactivated: set[str] = set()  # accounts of people who left
        self.streams: dict[str, list[str]] = {}  # streamed messages: ts → chunks appended
        self.stopped: set[str] = set()

    async def place(self, *, channel: str) -> Place:
        if channel.startswith("D"):
            return Place(kind="dm")
        return Place(kind=self.kinds.get(channel, "public"))  # type: ignore[arg-type]

    async def is_guest(self, *, user: str) -> bool:
        return user in self.guests_set

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

    async def start_stream(self, *, channel: str, thread_ts: str, run_id: str, recipient: str,
                           team: str | None) -> MessageRef:
        ref = MessageRef(channel=channel, ts=f"{len(self.posts) + len(self.streams) + 1}.5")
        self.streams[ref.ts] = []
        return ref

    async def append_stream(self, *, ref: MessageRef, text: str) -> None:
        if ref.ts in self.stopped:
            raise SurfaceError("message_not_in_streaming_state")
        self.streams[ref.ts].append(text)

    async def stop_stream(self, *, ref: MessageRef, run_id: str | None = None, effect: str | None = None) -> None:
        self.stopped.add(ref.ts)

    async def delete(self, *, ref: MessageRef) -> None:
        self.deleted.append(ref)

    async def post_ephemeral(self, *, channel: str, user: str, text: Msg, thread_ts: str | None = None,
                             view: View | None = None) -> None:
        self.ephemerals.append((channel, user, text))

    async def group_members(self, group_id: str) -> frozenset[str]:
        return frozenset(self.groups.get(group_id, set()))

    async def channel_members(self, channel_id: str) -> frozenset[str]:
        if channel_id in self.groups:
            return frozenset(self.groups[channel_id])
        return frozenset() if channel_id.startswith("S") else frozenset(self.everyone)

    async def guests(self) -> frozenset[str] | None:
        return frozenset(self.guests_set)

    async def is_local(self, user: str) -> bool:
        return user not in self.external and user not in self.deactivated

    async def is_active(self, user: str) -> bool:
        return user not in self.deactivated


class MemoryAudit(AuditLog):
    """The audit trail in memory: one chain, sealed by the core's ``seal`` like the Redis adapter, so it refuses
    exactly what Redis would (``UnsafeAttribute``) and keeps event ids idempotent the same way."""

    def __init__(self, *, keys: Keyring | None = None, clock: Clock | None = None) -> None:
        self.keys = keys or Keyring([("test", b"memory-audit-key-0123456789abcdef")])
        self.clock = clock or SystemClock()
        self.sealed: list[AuditEvent] = []
        self._ids: set[str] = set()

    @property
    def events(self) -> list[dict[str, Any]]:
        """The events flattened for assertions: kind, run_id, actor and the attributes."""
        return [{"kind": e.kind, "run_id": e.run_id, "actor": e.actor, **e.attrs} for e in self.sealed]

    async def append(self, *, kind: str, run_id: str | None, actor: str | None, attrs: Mapping[str, Any],
                     event_id: str | None = None) -> None:
        prev = self.sealed[-1].point() if self.sealed else ChainPoint(shard="memory", seq=0, mac=GENESIS)
        event = seal(self.keys.current, shard=prev.shard, seq=prev.seq + 1, prev=prev.mac, kind=kind, run_id=run_id,
                     actor=actor, ts=self.clock.now(), attrs=attrs, event_id=event_id)
        if event_id is not None:
            if event_id in self._ids:
                return
            self._ids.add(event_id)
        self.sealed.append(event)

    async def timeline(self, run_id: str) -> list[AuditEvent]:
        return sorted((e for e in self.sealed if e.run_id == run_id), key=lambda e: (e.ts, e.seq))

    def digest(self, text: str) -> str:
        return keyed_digest(self.keys.current, text)


class MemoryLedger(UsageLedger):
    """The UsageLedger in memory, with the Redis ledger's rules: each reservation checks and holds in one step (no
    await in between, so concurrent tasks cannot both take the last tokens), holds lapse on ``clock``, and a settle
    counts once."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.tokens: dict[str, int] = {}
        self.cost: dict[str, float] = {}
        self.holds: dict[str, tuple[Hold, datetime]] = {}
        self.settled: list[tuple[Hold, int, float]] = []
        self.refused = 0

    def reserved(self, scope: str) -> int:
        now = self.clock.now()
        return sum(h.tokens for h, until in self.holds.values()
                   if until > now and scope in (f"user:{h.user}", f"team:{h.team}"))

    async def reserve(self, *, user: str, team: str, tokens: int, at_least: int, user_limit: int | None,
                      team_limit: int | None, ttl_seconds: float) -> Hold | None:
        grant = tokens
        for scope, limit in ((f"user:{user}", user_limit), (f"team:{team}", team_limit)):
            if limit is not None:
                grant = min(grant, limit - self.tokens.get(scope, 0) - self.reserved(scope))
        if grant < min(at_least, tokens) or grant <= 0:
            self.refused += 1
            return None
        hold = Hold(id=f"h{len(self.holds) + len(self.settled) + 1}", user=user, team=team, day="today",
                    tokens=grant)
        self.holds[hold.id] = (hold, self.clock.now() + timedelta(seconds=ttl_seconds))
        return hold

    async def settle(self, hold: Hold, *, tokens: int, cost: float) -> None:
        if tokens < 0 or not cost >= 0:
            raise ValueError("usage cannot be negative")
        if self.holds.pop(hold.id, None) is None:
            return
        self.settled.append((hold, tokens, cost))
        for scope in (f"user:{hold.user}", f"team:{hold.team}"):
            self.tokens[scope] = self.tokens.get(scope, 0) + tokens
            self.cost[scope] = self.cost.get(scope, 0.0) + cost

    async def spent(self, *, user: str, team: str) -> Spending:
        u, t = f"user:{user}", f"team:{team}"
        return Spending(user_tokens=self.tokens.get(u, 0), team_tokens=self.tokens.get(t, 0),
                        user_cost_usd=self.cost.get(u, 0.0), team_cost_usd=self.cost.get(t, 0.0),
                        user_reserved=self.reserved(u), team_reserved=self.reserved(t))


class MemoryControls(Controls):
    """Operator controls set directly by a test (the Redis adapter is tested on real Redis)."""

    def __init__(self, state: ControlState | None = None, backlog: QueueStats | None = None) -> None:
        self.state = state or ControlState()
        self.stats = backlog

    def current(self) -> ControlState:
        return self.state

    def backlog(self) -> QueueStats | None:
        return self.stats


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
        self.max_tokens: list[int] = []

    async def complete(self, *, messages: Sequence[ChatMessage], max_tokens: int, timeout: float,
                       tools: Sequence[Mapping[str, Any]] | None = None) -> Completion:
        self.seen.append(list(messages))
        self.max_tokens.append(max_tokens)
        self.tools_offered.append([t["function"]["name"] for t in tools or []])
        step = self.script.pop(0) if self.script else self.default
        if isinstance(step, Exception):
            raise step
        if isinstance(step, Completion):
            return step
        return Completion(text=step, model=self.name, input_tokens=10, output_tokens=5)


def unavailable(why: str = "429") -> ModelUnavailable:
    return ModelUnavailable(why)


class MemoryFeedback(FeedbackLedger):
    """FeedbackLedger in memory, with the Redis adapter's rules: one vote per person per run."""

    def __init__(self) -> None:
        self.votes: dict[tuple[str, str], bool] = {}
        self.counts: dict[tuple[str, str], list[int]] = {}

    async def vote(self, *, run_id: str, user: str, workflow: str, model: str, positive: bool) -> bool:
        if (run_id, user) in self.votes:
            return False
        self.votes[(run_id, user)] = positive
        self.counts.setdefault((workflow, model), [0, 0])[0 if positive else 1] += 1
        return True

    async def tallies(self) -> list[Tally]:
        return [Tally(workflow=w, model=m, up=c[0], down=c[1]) for (w, m), c in sorted(self.counts.items())]
