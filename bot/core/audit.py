"""Maple's tamper-evident audit trail: event model, canonical encoding, HMAC chains, signed chain points.

Pure: no I/O here. ``integrations/redis_audit.py`` stores the chains in Redis streams and
``integrations/audit_anchor.py`` keeps signed chain heads in an append-only file outside Redis; the keys are
described in ``bot/core/audit_keys.py``, what an event may keep in ``bot/core/audit_attrs.py``.

Attribute names follow the OpenTelemetry semantic conventions for GenAI, version 1.37.0 (``SEMCONV_VERSION``,
the release that introduced ``gen_ai.provider.name``); Maple's own attributes live under ``maple.*``.
Prompts, drafts and reasons are never stored: record ``keyed_digest`` / ``text_attrs`` values instead.

Chain: events are sharded (UTC day + worker, ``2026-11-24/w1``). In a shard every event carries ``seq``,
``prev`` (the previous event's ``mac``, or ``GENESIS``), ``kid`` (the keyring id it was sealed with) and
``mac = HMAC-SHA256(chain sub-key of kid, canonical_json(event without mac))``. Anchors and checkpoints are
chain points signed with the anchor key (asymmetric); a checkpoint marks a trimmed prefix.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from typing import Annotated, Any, Final, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PlainSerializer, ValidationError

from bot.core.audit_attrs import UnsafeAttribute as UnsafeAttribute  # re-exported: callers catch it from here
from bot.core.audit_attrs import check_attrs, check_event_id, check_kind
from bot.core.audit_keys import AnchorSigner, AnchorVerifier, AuditKey, Keyring

SEMCONV_VERSION: Final = "1.37.0"
SEMCONV_SCHEMA_URL: Final = "https://opentelemetry.io/schemas/1.37.0"
FORMAT_VERSION: Final = 2
GENESIS: Final = "0" * 64

_WORKER = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


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
    kid: str
    eid: str | None = None  # the caller's idempotency id: appending it again is a no-op
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
    key: AuditKey, *, shard: str, seq: int, prev: str, kind: str, run_id: str | None, actor: str | None,
    ts: datetime, attrs: Mapping[str, Any], event_id: str | None = None,
) -> AuditEvent:
    """Build the event that follows ``prev`` at ``seq`` and compute its mac. Every adapter appends through
    this function, so every adapter validates alike (UnsafeAttribute)."""
    draft = AuditEvent(shard=shard, seq=seq, prev=prev, kid=key.kid, eid=check_event_id(event_id),
                       kind=check_kind(kind), run_id=run_id, actor=actor, ts=ts, attrs=check_attrs(attrs), mac="")
    return draft.model_copy(update={"mac": compute_mac(key.chain, draft.body())})


def event_intact(keys: Keyring, event: AuditEvent) -> bool:
    """The mac is right under the key the event names (False for a key id not in the keyring)."""
    key = keys.get(event.kid)
    return key is not None and hmac.compare_digest(compute_mac(key.chain, event.body()), event.mac)


class ChainPoint(BaseModel):
    model_config = ConfigDict(frozen=True)

    shard: str
    seq: int = Field(ge=0)
    mac: str


PointType = Literal["anchor", "checkpoint"]


class SignedPoint(BaseModel):
    """A chain head written outside Redis (``anchor``) or the end of a trimmed prefix (``checkpoint``), signed
    with the anchor key ``kid``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: PointType
    shard: str
    seq: int = Field(ge=0)
    mac: str
    time: UtcTime
    kid: str
    sig: str

    def point(self) -> ChainPoint:
        return ChainPoint(shard=self.shard, seq=self.seq, mac=self.mac)

    def message(self) -> bytes:
        return canonical_json(self.model_dump(mode="json", exclude={"sig"}))

    def valid(self, verifier: AnchorVerifier | None) -> bool:
        return verifier is not None and verifier.verify(key_id=self.kid, message=self.message(), signature=self.sig)


def sign_point(signer: AnchorSigner, *, type: PointType, point: ChainPoint, time: datetime) -> SignedPoint:
    draft = SignedPoint(type=type, shard=point.shard, seq=point.seq, mac=point.mac, time=time, kid=signer.key_id,
                        sig="")
    return draft.model_copy(update={"sig": signer.sign(draft.message())})


class AnchorState(BaseModel):
    """What the anchor file says: the highest valid anchor and checkpoint per shard, and bad lines."""

    anchors: dict[str, SignedPoint] = Field(default_factory=dict)
    checkpoints: dict[str, SignedPoint] = Field(default_factory=dict)
    problems: list[str] = Field(default_factory=list)
    lines: int = 0  # valid signed lines read
    signers: dict[str, int] = Field(default_factory=dict)  # anchor key id → valid lines it signed


def read_anchor_lines(verifier: AnchorVerifier | None, lines: Iterable[str]) -> AnchorState:
    state = AnchorState()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            point = SignedPoint.model_validate_json(line)
        except ValidationError:
            state.problems.append(f"anchor file line {number} is malformed")
            continue
        if verifier is None or point.kid not in verifier.key_ids:
            state.problems.append(f"anchor file line {number} is signed by anchor key {point.kid!r}, which is "
                                  "not among the configured anchor public keys")
            continue
        if not point.valid(verifier):
            state.problems.append(f"anchor file line {number} has an invalid signature")
            continue
        state.lines += 1
        state.signers[point.kid] = state.signers.get(point.kid, 0) + 1
        best = state.anchors if point.type == "anchor" else state.checkpoints
        if point.shard not in best or point.seq >= best[point.shard].seq:
            best[point.shard] = point
    return state


class TrimResult(BaseModel):
    checkpoints: list[SignedPoint] = Field(default_factory=list)
    removed: int = 0
    skipped: dict[str, str] = Field(default_factory=dict)

    def lines(self) -> list[str]:
        out = [f"{cp.shard}: trimmed up to seq {cp.seq} at a signed checkpoint" for cp in self.checkpoints]
        out += [f"{shard}: left alone ({why})" for shard, why in self.skipped.items()]
        return [*out, f"removed {self.removed} event(s)"]
