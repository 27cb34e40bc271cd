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
