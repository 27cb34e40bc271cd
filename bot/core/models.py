"""The run and what hangs off it. A Run is the unit of work, persisted before anything is acted on."""

from __future__ import annotations

import secrets
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from bot.core.levels import Sensitivity

RUN_ID_PREFIX = "R-"
RUN_ID_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"


def new_run_id() -> str:
    """An unguessable run id: 80 random bits, upper-case base32-ish, e.g. R-7K2QX9MZ4WJ3DHP8."""
    bits = int.from_bytes(secrets.token_bytes(10))  # one read of the system's randomness, not sixteen
    return RUN_ID_PREFIX + "".join(RUN_ID_ALPHABET[(bits >> (5 * i)) & 31] for i in range(16))  # 32 letters: 5 bits


def looks_like_run_id(text: str) -> bool:
    body = text[len(RUN_ID_PREFIX) :]
    return text.startswith(RUN_ID_PREFIX) and len(body) == 16 and body.isalnum() and body.isupper()


class RunState(StrEnum):
    QUEUED = "queued"
    DRAFTING = "drafting"
    IN_REVIEW = "in_review"
    APPROVED = "approved"
    REJECTED = "rejected"
    DELIVERED = "delivered"
    FAILED = "failed"
    REFUSED = "refused"
    CANCELLED = "cancelled"


ANSWER_EFFECTS = frozenset({"result", "progress"})  # Maple's messages whose threads lead back to their run
TERMINAL = frozenset({RunState.REJECTED, RunState.DELIVERED, RunState.FAILED, RunState.REFUSED, RunState.CANCELLED})


class Model(BaseModel):
    model_config = ConfigDict(extra="ignore")


class Origin(Model):
    """Where the goal came from, and so where the result goes."""

    kind: Literal["command", "mention", "dm", "schedule"] = "command"
    channel: str
    thread_ts: str | None = None
    in_thread: bool = False
    team: str | None = None
    schedule: str | None = None  # a schedule's firing: its id, and the period it covers (Slack ts, seconds)
    since: float | None = None
    until: float | None = None
    pane: bool = False  # the assistant pane's thread (a DM thread): Maple shows a status while it works there
    context_channel: str | None = None  # the channel the person was viewing when they asked from the pane


class DraftVersion(Model):
    text: str
    author: str
    at: datetime
    model: str | None = None
    notes: list[str] = Field(default_factory=list)
    version: int = 0
    truncated: bool = False  # cut short: the model stopped at its token limit, or Maple cut it to the draft limit


class Audience(Model):
    """Who may read a run's content. ``members`` None: anyone in the workspace (nothing private was read);
    otherwise only these people — the members of every private channel or DM whose text the run carries.
    It only ever narrows (``narrowed``), whatever the sensitivity detectors say."""

    members: list[str] | None = None
    sources: list[str] = Field(default_factory=list)

    @property
    def open(self) -> bool:
        return self.members is None

    def narrowed(self, *, source: str, members: frozenset[str] | None) -> Audience:
        if members is None:
            return self
        current = members if self.members is None else members & set(self.members)
        return Audience(members=sorted(current), sources=sorted({*self.sources, source}))

    def admits(self, users: frozenset[str] | set[str]) -> bool:
        return self.members is None or set(users) <= set(self.members)


class FollowUp(Model):
    """A reply in the thread of a draft in review or of a delivered answer, asking for a new version
    (bot/core/followups.py)."""

    by: str
    text: str
    at: datetime
    version: int  # the draft version it revised


class AuditIntent(Model):
    """An audit event written on the run together with the change it records, appended afterwards (with
    ``id`` as its idempotency key, so appending it twice after a crash records it once)."""

    id: str
    kind: str
    actor: str | None = None
    attrs: dict[str, Any] = Field(default_factory=dict)


class Decision(Model):
    kind: Literal["approve", "reject", "cancel"]
    by: str
    at: datetime
    reason: str | None = None


class Effect(Model):
    """A side effect recorded before it is performed (intent, with who claimed it and when) and after (done)."""

    channel: str
    thread_ts: str | None = None
    ts: str | None = None
    done: bool = False
    claim: str | None = None
    claimed_at: datetime | None = None


CallState = Literal["planned", "started", "done", "failed", "unknown", "dropped"]


class PlannedCall(Model):
    """A tool call that changes something, planned while drafting and made only after approval, at most once.

    ``version`` is the draft version it belongs to: the call is made only when that version is the one approved
    (an edit makes a new version, so it drops the calls planned with the old one). ``started`` is written before
    the call is made and ``done`` / ``failed`` with its answer; a ``started`` call found without an answer (the
    worker died during it) becomes ``unknown`` and is never made again."""

    id: str
    tool: str
    arguments: dict[str, Any] = Field(default_factory=dict)
    what: str = ""
    version: int = 0
    state: CallState = "planned"
    until: datetime | None = None  # a started call is over by then, whoever made it
    result: str | None = None
    level: Sensitivity | None = None
    error: str | None = None

    @property
    def finished(self) -> bool:
        return self.state in ("done", "failed", "unknown", "dropped")


class RouteDecision(Model):
    step: str
    chosen: str | None
    reason: str
    skipped: dict[str, str] = Field(default_factory=dict)


class Usage(Model):
    model: str
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0


class Citation(Model):
    """A numbered source an answer may cite as ``[n]``: where the passage came from (its text is not kept here)."""

    n: int
    collection: str
    document: str
    title: str
    section: str = ""
    link: str | None = None
    passage: str = ""  # the passage id


class Target(Model):
    """Where Approve will post the result, as worked out when the draft went to review: the channel (a thread in
    it), what kind of conversation it is, and — when the gate sent it elsewhere — where the workflow meant."""

    channel: str
    thread_ts: str | None = None
    kind: Literal["public", "private", "dm", "shared"] = "public"
    instead_of: str | None = None


class Run(Model):
    id: str = Field(default_factory=new_run_id)
    requester: str
    origin: Origin
    goal: str
    workflow: str
    state: RunState = RunState.QUEUED
    created_at: datetime
    updated_at: datetime
    version: int = 0
    sensitivity: Sensitivity = Sensitivity.INTERNAL
    sensitivity_hits: dict[str, int] = Field(default_factory=dict)
    drafts: list[DraftVersion] = Field(default_factory=list)
    decision: Decision | None = None
    review_channel: str | None = None
    effects: dict[str, Effect] = Field(default_factory=dict)
    routes: list[RouteDecision] = Field(default_factory=list)
    usage: list[Usage] = Field(default_factory=list)
    policy_notes: list[str] = Field(default_factory=list)
    citations: list[Citation] = Field(default_factory=list)  # the sources the draft may cite, by number
    error: str | None = None
    approvals: list[str] = Field(default_factory=list)
    quorum: int = 1
    draft_version: int = 0
    audience: Audience = Field(default_factory=Audience)
    outbox: list[AuditIntent] = Field(default_factory=list)
    calls: list[PlannedCall] = Field(default_factory=list)
    assigned: list[str] = Field(default_factory=list)  # reviewers an admin assigned to this run
    target: Target | None = None
    read_from: list[str] = Field(default_factory=list)  # the conversations a tool read for the draft
    timezone: str | None = None  # the requester's own zone (users.info) when known at intake
    locale: str | None = None  # the requester's Slack locale, for what Maple tells them
    offered: list[str] = Field(default_factory=list)  # a held goal: the workflows offered to choose from
    followups: list[FollowUp] = Field(default_factory=list)
    round: int = 0  # deliveries reopened by a follow-up: the effects of round n-1 are kept as "r{n-1}/{name}"
    trace: str | None = None  # W3C traceparent of the run's ack, when tracing is on (ids only, never text)
    # a goal acked before it was placed (``MAPLE_ACK=deferred``): where the worker answers the slash command (its
    # response_url), and the workflow the person named with ``/maple run`` (None: the classifier decides)
    reply_url: str | None = None
    named_workflow: str | None = None
    asked_model: bool = False  # a held goal sent to a cleared model to classify (its ``clarify`` job), not the person

    @property
    def draft(self) -> DraftVersion | None:
        return self.drafts[-1] if self.drafts else None

    @property
    def terminal(self) -> bool:
        return self.state in TERMINAL

    def origin_thread(self) -> tuple[str, str] | None:
        """The thread the run started in (a mention's, a DM's, the pane's), as (channel, thread ts)."""
        return (self.origin.channel, self.origin.thread_ts) if self.origin.thread_ts else None

    def answer_threads(self) -> list[tuple[str, str]]:
        """The threads of Maple's messages about this run elsewhere — its delivered result (every version) and the
        requester's run message — as (channel, thread ts): a reply in one of them is a follow-up too."""
        found: list[tuple[str, str]] = []
        for name, effect in self.effects.items():
            if name.rpartition("/")[2] not in ANSWER_EFFECTS or not effect.done or not effect.ts:
                continue
            key = (effect.channel, effect.thread_ts or effect.ts)
            if key != self.origin_thread() and key not in found:
                found.append(key)
        return found

    @property
    def total_tokens(self) -> int:
        return sum(u.input_tokens + u.output_tokens for u in self.usage)

    @property
    def total_cost(self) -> float:
        return sum(u.cost_usd for u in self.usage)


JobKind = Literal["intake", "draft", "deliver", "reject", "refresh_reviews", "clarify", "review_timeout", "cancelled"]


class Job(Model):
    run_id: str
    kind: JobKind
    user: str | None = None  # on whose behalf the work is done: the queue serves users fairly (the run store
    #                          fills it with the run's requester when it enqueues with a run write)
    trace: str | None = None  # the run's trace context (W3C traceparent) when tracing is on: one trace per run
    queued_at: datetime | None = None  # when it was enqueued (tracing on): its span of queue wait


class ToolCall(Model):
    """A model's request to run a tool (OpenAI tool calling); arguments are untrusted JSON text."""

    id: str
    name: str
    arguments: str = "{}"


class ChatMessage(Model):
    role: Literal["system", "user", "assistant", "tool"]
    content: str
    tool_calls: list[ToolCall] | None = None
    tool_call_id: str | None = None

    def wire(self) -> dict[str, object]:
        """The message as OpenAI-compatible APIs expect it."""
        out: dict[str, object] = {"role": self.role, "content": self.content}
        if self.tool_calls:
            out["tool_calls"] = [{"id": c.id, "type": "function",
                                  "function": {"name": c.name, "arguments": c.arguments}} for c in self.tool_calls]
        if self.tool_call_id:
            out["tool_call_id"] = self.tool_call_id
        return out


class Completion(Model):
    text: str
    finish_reason: str | None = None  # "length": the model stopped at its token limit
    model: str
    input_tokens: int = 0
    output_tokens: int = 0
    tool_calls: list[ToolCall] = Field(default_factory=list)
