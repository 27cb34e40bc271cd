"""Maple's tamper-evident audit trail: event model, canonical encoding, HMAC chains, anchors, verification.

Pure: no I/O here. ``integrations/redis_audit.py`` stores the chains in Redis streams and
``integrations/audit_anchor.py`` keeps signed chain heads in an append-only file outside Redis.

Attribute names follow the OpenTelemetry semantic conventions for GenAI, version 1.37.0 (``SEMCONV_VERSION``,
the release that introduced ``gen_ai.provider.name``); Maple's own attributes live under ``maple.*``.
Prompts and drafts are never stored: record ``prompt_digest(key, text)`` as ``maple.prompt.hmac``.

Chain: events are sharded (UTC day + worker, ``2026-11-24/w1``). In a shard every event carries ``seq``,
``prev`` (the previous event's ``mac``, or ``GENESIS``) and ``mac = HMAC-SHA256(key, canonical_json(event
without mac))``. Anchors and checkpoints are signed chain points; a checkpoint marks a trimmed prefix.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from typing import Annotated, Any, Final, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PlainSerializer, ValidationError

SEMCONV_VERSION: Final = "1.37.0"
SEMCONV_SCHEMA_URL: Final = "https://opentelemetry.io/schemas/1.37.0"
FORMAT_VERSION: Final = 1
GENESIS: Final = "0" * 64
MAX_TEXT_CHARS: Final = 512
MAX_LIST_ITEMS: Final = 64


class GenAI:
    """OpenTelemetry GenAI attribute names (semconv 1.37.0)."""

    OPERATION_NAME: Final = "gen_ai.operation.name"  # chat, text_completion, embeddings, execute_tool…
    PROVIDER_NAME: Final = "gen_ai.provider.name"  # openai, azure.ai.openai, ...
    REQUEST_MODEL: Final = "gen_ai.request.model"
    REQUEST_MAX_TOKENS: Final = "gen_ai.request.max_tokens"
    REQUEST_TEMPERATURE: Final = "gen_ai.request.temperature"
    RESPONSE_MODEL: Final = "gen_ai.response.model"
    RESPONSE_ID: Final = "gen_ai.response.id"
    RESPONSE_FINISH_REASONS: Final = "gen_ai.response.finish_reasons"
    USAGE_INPUT_TOKENS: Final = "gen_ai.usage.input_tokens"
    USAGE_OUTPUT_TOKENS: Final = "gen_ai.usage.output_tokens"
    OUTPUT_TYPE: Final = "gen_ai.output.type"
    TOOL_NAME: Final = "gen_ai.tool.name"
    TOOL_CALL_ID: Final = "gen_ai.tool.call.id"
    DATA_SOURCE_ID: Final = "gen_ai.data_source.id"
    ERROR_TYPE: Final = "error.type"
    SERVER_ADDRESS: Final = "server.address"


class MapleAttr:
    """Maple's own attribute names (no OpenTelemetry convention covers them)."""

    SENSITIVITY_LEVEL: Final = "maple.sensitivity.level"
    SENSITIVITY_HITS: Final = "maple.sensitivity.hits"
    ROUTE_CHOSEN: Final = "maple.route.chosen"
    ROUTE_REASON: Final = "maple.route.reason"
    PROMPT_HMAC: Final = "maple.prompt.hmac"
    COST_USD: Final = "maple.cost.usd"
    LATENCY_MS: Final = "maple.latency_ms"
    DOCUMENTS: Final = "maple.documents"
    WORKFLOW: Final = "maple.workflow"
    POLICY_RESULT: Final = "maple.policy.outcome"
    REVIEW_DECISION: Final = "maple.review.decision"
    DESTINATION: Final = "maple.destination"


class Kind:
    """Event kinds Maple records (any dotted lower-case name is accepted)."""

    RUN_CREATED: Final = "run.created"
    RUN_CLASSIFIED: Final = "run.classified"
    SENSITIVITY_ASSESSED: Final = "sensitivity.assessed"
    ROUTE_DECIDED: Final = "route.decided"
    MODEL_CALLED: Final = "model.called"
    TOOL_CALLED: Final = "tool.called"
    POLICY_CHECKED: Final = "policy.checked"
    REVIEW_DECIDED: Final = "review.decided"
    RUN_DELIVERED: Final = "run.delivered"
    RUN_FAILED: Final = "run.failed"


class UnsafeAttribute(ValueError):
    """An audit attribute that is malformed or looks like raw text (prompts are recorded as HMACs only)."""


_KIND = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
_ATTR = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$")
_WORKER = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_RAW_WORDS = frozenset({
    "prompt", "prompts", "goal", "draft", "text", "content", "contents", "message", "messages", "body",
    "completion", "reply", "answer", "question", "query", "system_instructions", "arguments", "result",
})
_SAFE_LAST = frozenset({"hmac", "digest", "sha256", "length", "chars", "count", "tokens", "version", "id", "ids"})


def prompt_digest(key: bytes, text: str) -> str:
    """HMAC-SHA256 (hex) of ``text``: lets the trail prove which prompt was used without storing it."""
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).hexdigest()


def canonical_json(value: Any) -> bytes:
    """Deterministic JSON: sorted keys, no spaces, UTF-8, no NaN/Infinity."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def compute_mac(key: bytes, body: Mapping[str, Any]) -> str:
    return hmac.new(key, canonical_json(body), hashlib.sha256).hexdigest()


def format_ts(ts: datetime) -> str:
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def shard_name(now: datetime, worker: str) -> str:
    if not _WORKER.match(worker):
        raise ValueError(f"worker id {worker!r} must match {_WORKER.pattern}")
    return f"{now.astimezone(UTC):%Y-%m-%d}/{worker}"


def shard_day(shard: str) -> date | None:
    """The UTC day of a shard, or None for a name that is not a shard."""
    day, sep, worker = shard.partition("/")
    try:
        return date.fromisoformat(day) if sep and _WORKER.match(worker) and len(day) == 10 else None
    except ValueError:
        return None


def check_attrs(attrs: Mapping[str, Any]) -> dict[str, Any]:
    """Validate audit attributes; return a plain JSON-ready copy. Raise UnsafeAttribute."""
    clean: dict[str, Any] = {}
    for name, value in attrs.items():
        if not isinstance(name, str) or not _ATTR.match(name):
            raise UnsafeAttribute(f"attribute name {name!r} must be dotted lower-case, e.g. maple.route.reason")
        parts = name.split(".")
        if _RAW_WORDS.intersection(parts) and parts[-1] not in _SAFE_LAST:
            raise UnsafeAttribute(f"attribute {name!r} looks like raw text; record prompt_digest() instead")
        if isinstance(value, list | tuple):
            if len(value) > MAX_LIST_ITEMS:
                raise UnsafeAttribute(f"attribute {name!r} has more than {MAX_LIST_ITEMS} items")
            clean[name] = [_scalar(name, item) for item in value]
        else:
            clean[name] = None if value is None else _scalar(name, value)
    return clean


def _scalar(name: str, value: Any) -> str | int | float | bool:
    if isinstance(value, float) and not math.isfinite(value):
        raise UnsafeAttribute(f"attribute {name!r} is not a finite number")
    if isinstance(value, str) and len(value) > MAX_TEXT_CHARS:
        raise UnsafeAttribute(f"attribute {name!r} is longer than {MAX_TEXT_CHARS} chars: raw text?")
    if not isinstance(value, str | int | float | bool):
        raise UnsafeAttribute(f"attribute {name!r} must be a string, number, boolean or a list of them")
    return value


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("timestamps must be timezone-aware")
    return value.astimezone(UTC)


UtcTime = Annotated[datetime, AfterValidator(_utc), PlainSerializer(format_ts, return_type=str, when_used="json")]


class AuditEvent(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    v: int = FORMAT_VERSION
    shard: str
    seq: int = Field(ge=1)
    prev: str
    kind: str
    run_id: str | None
    actor: str | None
    ts: UtcTime
    attrs: dict[str, Any]
    mac: str

    def body(self) -> dict[str, Any]:
        """What the mac covers: the event without its mac."""
        return self.model_dump(mode="json", exclude={"mac"})

    def point(self) -> ChainPoint:
        return ChainPoint(shard=self.shard, seq=self.seq, mac=self.mac)


def seal(
    key: bytes, *, shard: str, seq: int, prev: str, kind: str, run_id: str | None, actor: str | None,
    ts: datetime, attrs: Mapping[str, Any],
) -> AuditEvent:
    """Build the event that follows ``prev`` at ``seq`` and compute its mac."""
    if not _KIND.match(kind):
        raise UnsafeAttribute(f"event kind {kind!r} must be dotted lower-case, e.g. run.created")
    draft = AuditEvent(shard=shard, seq=seq, prev=prev, kind=kind, run_id=run_id, actor=actor, ts=ts,
                       attrs=check_attrs(attrs), mac="")
    return draft.model_copy(update={"mac": compute_mac(key, draft.body())})


def event_intact(key: bytes, event: AuditEvent) -> bool:
    return hmac.compare_digest(compute_mac(key, event.body()), event.mac)


class ChainPoint(BaseModel):
    model_config = ConfigDict(frozen=True)

    shard: str
    seq: int = Field(ge=0)
    mac: str


class SignedPoint(BaseModel):
    """A chain head written outside Redis (``anchor``) or the end of a trimmed prefix (``checkpoint``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: Literal["anchor", "checkpoint"]
    shard: str
    seq: int = Field(ge=0)
    mac: str
    time: UtcTime
    sig: str

    def point(self) -> ChainPoint:
        return ChainPoint(shard=self.shard, seq=self.seq, mac=self.mac)

    def valid(self, key: bytes) -> bool:
        return hmac.compare_digest(compute_mac(key, self.model_dump(mode="json", exclude={"sig"})), self.sig)


def sign_point(key: bytes, *, type: Literal["anchor", "checkpoint"], point: ChainPoint, time: datetime) -> SignedPoint:
    draft = SignedPoint(type=type, shard=point.shard, seq=point.seq, mac=point.mac, time=time, sig="")
    return draft.model_copy(update={"sig": compute_mac(key, draft.model_dump(mode="json", exclude={"sig"}))})


class AnchorState(BaseModel):
    """What the anchor file says: the highest valid anchor and checkpoint per shard, and bad lines."""

    anchors: dict[str, SignedPoint] = Field(default_factory=dict)
    checkpoints: dict[str, SignedPoint] = Field(default_factory=dict)
    problems: list[str] = Field(default_factory=list)


def read_anchor_lines(key: bytes, lines: Iterable[str]) -> AnchorState:
    state = AnchorState()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            point = SignedPoint.model_validate_json(line)
        except ValidationError:
            state.problems.append(f"anchor file line {number} is malformed")
            continue
        if not point.valid(key):
            state.problems.append(f"anchor file line {number} has an invalid signature")
            continue
        best = state.anchors if point.type == "anchor" else state.checkpoints
        if point.shard not in best or point.seq >= best[point.shard].seq:
            best[point.shard] = point
    return state


class TrimResult(BaseModel):
    checkpoints: list[SignedPoint] = Field(default_factory=list)
    removed: int = 0
    skipped: dict[str, str] = Field(default_factory=dict)


class Problem(BaseModel):
    seq: int | None
    what: str


class ShardReport(BaseModel):
    shard: str
    events: int
    base_seq: int  # the signed checkpoint the chain starts after (0: genesis)
    last_seq: int
    problems: list[Problem] = Field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


class AuditReport(BaseModel):
    shards: list[ShardReport] = Field(default_factory=list)
    problems: list[str] = Field(default_factory=list)
    anchored: bool = False

    @property
    def ok(self) -> bool:
        return not self.problems and all(shard.ok for shard in self.shards)

    def lines(self) -> list[str]:
        """Human-readable summary, one line per shard and per problem."""
        out = [f"anchor file: {p}" for p in self.problems]
        for shard in self.shards:
            state = "ok" if shard.ok else f"{len(shard.problems)} problem(s)"
            out.append(f"{shard.shard}: {shard.events} events, head seq {shard.last_seq}: {state}")
            out.extend(f"  seq {p.seq if p.seq is not None else '-'}: {p.what}" for p in shard.problems)
        return out


def verify_shard(
    key: bytes, *, shard: str, events: list[AuditEvent], head: ChainPoint | None, anchor: SignedPoint | None,
    checkpoints: Iterable[SignedPoint] = (), bad_entries: Iterable[str] = (),
) -> ShardReport:
    """Check one shard's events (in stream order) against their macs, links, head, anchor and checkpoints."""
    problems = [Problem(seq=None, what=f"stream entry {entry} is not a valid audit event") for entry in bad_entries]
    floor = _floor(key, shard, checkpoints, problems)
    live = _check_events(key, shard, events, floor, problems)
    macs = {floor.seq: floor.mac} | {seq: event.mac for seq, event in live.items()}
    tip = max(macs)
    _check_links(live, macs, floor, tip, problems)
    _check_head(head, ChainPoint(shard=shard, seq=tip, mac=macs[tip]), floor, problems)
    if anchor is not None and _trusted(key, shard, "anchor", anchor, problems):
        _check_anchor(anchor, floor, tip, macs, problems)
    return ShardReport(shard=shard, events=len(events), base_seq=floor.seq, last_seq=tip, problems=problems)


def _trusted(key: bytes, shard: str, kind: str, point: SignedPoint, problems: list[Problem]) -> bool:
    if point.type == kind and point.shard == shard and point.valid(key):
        return True
    problems.append(Problem(seq=point.seq, what=f"{kind} has an invalid signature"))
    return False


def _floor(key: bytes, shard: str, checkpoints: Iterable[SignedPoint], problems: list[Problem]) -> ChainPoint:
    """Where the chain starts: the highest signed checkpoint, else the genesis."""
    trusted = [cp for cp in checkpoints if _trusted(key, shard, "checkpoint", cp, problems)]
    best = max(trusted, key=lambda cp: cp.seq, default=None)
    return best.point() if best else ChainPoint(shard=shard, seq=0, mac=GENESIS)


def _check_events(
    key: bytes, shard: str, events: list[AuditEvent], floor: ChainPoint, problems: list[Problem]
) -> dict[int, AuditEvent]:
    """Per-event checks (mac, shard, order, duplicates); returns the events above the floor by seq."""
    live: dict[int, AuditEvent] = {}
    last = 0
    for event in events:
        intact = event_intact(key, event)
        if not intact:
            problems.append(Problem(seq=event.seq, what="mac mismatch: event edited or forged"))
        if event.shard != shard:
            problems.append(Problem(seq=event.seq, what=f"event belongs to shard {event.shard}"))
        if event.seq < last:
            problems.append(Problem(seq=event.seq, what=f"out of order: stored after seq {last}"))
        last = max(last, event.seq)
        if event.seq == floor.seq and event.mac != floor.mac:
            problems.append(Problem(seq=event.seq, what="differs from the signed checkpoint"))
        if event.seq <= floor.seq:
            continue
        if event.seq in live:
            problems.append(Problem(seq=event.seq, what="duplicate seq: replayed or inserted event"))
            if not intact or event_intact(key, live[event.seq]):
                continue  # link the chain through the genuine copy
        live[event.seq] = event
    return live


def _check_links(
    live: dict[int, AuditEvent], macs: dict[int, str], floor: ChainPoint, tip: int, problems: list[Problem]
) -> None:
    missing = [seq for seq in range(floor.seq + 1, tip + 1) if seq not in live]
    for start, end in _ranges(missing):
        span = f"seq {start}" if start == end else f"seq {start}-{end}"
        why = "truncated without a signed checkpoint" if start == floor.seq + 1 else "deleted"
        problems.append(Problem(seq=start, what=f"{span} missing: {why}"))
    for seq, event in sorted(live.items()):
        if seq - 1 in macs and event.prev != macs[seq - 1]:
            problems.append(Problem(seq=seq, what=f"broken link: prev is not the mac of seq {seq - 1}"))


def _ranges(seqs: list[int]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for seq in seqs:
        if out and out[-1][1] == seq - 1:
            out[-1] = (out[-1][0], seq)
        else:
            out.append((seq, seq))
    return out


def _check_head(head: ChainPoint | None, tip: ChainPoint, floor: ChainPoint, problems: list[Problem]) -> None:
    if head is None:
        if tip.seq > floor.seq:
            problems.append(Problem(seq=tip.seq, what="head record missing"))
        return
    if head.seq > tip.seq:
        problems.append(Problem(seq=head.seq, what=f"cut off: head is seq {head.seq}, stream ends at {tip.seq}"))
    elif head.seq < tip.seq:
        problems.append(Problem(seq=tip.seq, what=f"events after the head (seq {head.seq}): inserted"))
    elif head.mac != tip.mac:
        problems.append(Problem(seq=head.seq, what="head mac differs from the last event"))


def _check_anchor(
    anchor: SignedPoint, floor: ChainPoint, tip: int, macs: dict[int, str], problems: list[Problem]
) -> None:
    if anchor.seq > tip:
        problems.append(Problem(seq=anchor.seq, what=f"cut off: anchored at seq {anchor.seq}, stream ends at {tip}"))
    elif anchor.seq >= floor.seq and anchor.seq in macs and macs[anchor.seq] != anchor.mac:
        problems.append(Problem(seq=anchor.seq, what="differs from the anchored mac: chain rewritten"))
