"""AuditLog on Redis Streams: HMAC-chained events, one stream per shard (UTC day + worker).

Keys (``{prefix}audit:`` + …): ``{shard}`` the stream (field ``e``: the event JSON), ``{shard}:head`` a hash
(seq, mac and, after a trim, the signed checkpoint), ``shards`` the set of shard names, and ``run:{run_id}``
a list of ``shard|entry-id`` per run (expires ``run_index_ttl`` after the run's last event). Appends run a
Lua script that checks the expected head before XADD, so concurrent appenders cannot fork a chain. The
audit key never reaches Redis: macs are computed here.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import partial
from itertools import groupby
from typing import Any

import redis.asyncio as aioredis
from pydantic import ValidationError

from bot.core.audit import (
    GENESIS,
    AnchorState,
    AuditEvent,
    ChainPoint,
    SignedPoint,
    TrimResult,
    prompt_digest,
    seal,
    shard_day,
    shard_name,
    sign_point,
)
from bot.core.audit_verify import AuditReport, ShardReport, verify_shard
from bot.core.errors import ConfigError, ConflictError
from bot.core.ports import AuditLog, Clock
from integrations.audit_anchor import AnchorFile
from integrations.redis_store import as_text, guarded

BATCH = 500
MAX_TIMELINE = 1000

# KEYS: stream, head, shard set[, run index]. ARGV: expected seq, expected mac, new seq, event json, new mac,
# shard, run index ttl (s), genesis mac. Returns {1, entry id} or {0, current seq, current mac}.
_APPEND = """
local seq = redis.call('HGET', KEYS[2], 'seq') or '0'
local mac = redis.call('HGET', KEYS[2], 'mac') or ARGV[8]
if seq ~= ARGV[1] or mac ~= ARGV[2] then return {0, seq, mac} end
local id = redis.call('XADD', KEYS[1], '*', 'e', ARGV[4])
redis.call('HSET', KEYS[2], 'seq', ARGV[3], 'mac', ARGV[5])
redis.call('SADD', KEYS[3], ARGV[6])
if #KEYS == 4 then
  redis.call('RPUSH', KEYS[4], ARGV[6] .. '|' .. id)
  redis.call('EXPIRE', KEYS[4], ARGV[7])
end
return {1, id}
"""

# KEYS: stream, head, shard set. ARGV: checkpoint json, min id kept, whole ('1'/'0'), expected head seq, shard.
_TRIM = """
if ARGV[3] == '1' and redis.call('HGET', KEYS[2], 'seq') == ARGV[4] then
  redis.call('DEL', KEYS[1], KEYS[2])
  redis.call('SREM', KEYS[3], ARGV[5])
  return 1
end
redis.call('HSET', KEYS[2], 'checkpoint', ARGV[1])
redis.call('XTRIM', KEYS[1], 'MINID', ARGV[2])
return 2
"""

Entry = tuple[str, AuditEvent]


@dataclass
class _Shard:
    entries: list[Entry]
    head: ChainPoint | None
    report: ShardReport


class RedisAuditLog(AuditLog):
    def __init__(
        self, *, redis: aioredis.Redis, key: bytes, prefix: str, worker: str, clock: Clock,
        anchor_path: str | os.PathLike[str] | None = None, run_index_ttl: timedelta = timedelta(days=90), attempts: int = 100,
    ) -> None:
        if len(key) < 16:
            raise ConfigError("the audit key (MAPLE_AUDIT_KEY) must be at least 16 bytes")
        try:
            shard_name(clock.now(), worker)
        except ValueError as exc:
            raise ConfigError(str(exc)) from exc
        self._r, self._key, self._prefix, self._worker, self._clock = redis, key, prefix, worker, clock
        self._anchors = AnchorFile(anchor_path, key=key) if anchor_path else None
        self._ttl, self._attempts = int(run_index_ttl.total_seconds()), attempts
        self._append = redis.register_script(_APPEND)
        self._trim = redis.register_script(_TRIM)
        self._lock = asyncio.Lock()
        self._head: ChainPoint | None = None
        self._anchored: dict[str, tuple[int, str]] | None = None

    def stream_key(self, shard: str) -> str:
        return f"{self._prefix}audit:{shard}"

    def head_key(self, shard: str) -> str:
        return f"{self._prefix}audit:{shard}:head"

    @property
    def shards_key(self) -> str:
        return f"{self._prefix}audit:shards"

    def run_key(self, run_id: str) -> str:
        return f"{self._prefix}audit:run:{run_id}"

    def digest(self, text: str) -> str:
        return prompt_digest(self._key, text)

    async def append(self, *, kind: str, run_id: str | None, actor: str | None, attrs: Mapping[str, Any],
                     event_id: str | None = None) -> None:
        await self.record(kind=kind, run_id=run_id, actor=actor, attrs=attrs)

    async def record(
        self, *, kind: str, run_id: str | None, actor: str | None, attrs: Mapping[str, Any]
    ) -> AuditEvent:
        """Append one event to this worker's current shard and return it (sealed, with seq and mac)."""
        now = self._clock.now()
        shard = shard_name(now, self._worker)
        async with self._lock:
            head = self._head if self._head and self._head.shard == shard else ChainPoint(shard=shard, seq=0,
                                                                                          mac=GENESIS)
            for _ in range(self._attempts):
                event = seal(self._key, shard=shard, seq=head.seq + 1, prev=head.mac, kind=kind, run_id=run_id,
                             actor=actor, ts=now, attrs=attrs)
                current = await self._try_append(event, head)
                if current is None:
                    self._head = event.point()
                    return event
                head = current
        raise ConflictError(f"audit shard {shard} kept moving under us")

    async def _try_append(self, event: AuditEvent, head: ChainPoint) -> ChainPoint | None:
        """Append if the shard's head is still ``head``; otherwise return the actual head."""
        keys = [self.stream_key(event.shard), self.head_key(event.shard), self.shards_key]
        keys += [self.run_key(event.run_id)] if event.run_id else []
        args: list[str | int] = [head.seq, head.mac, event.seq, event.model_dump_json(), event.mac, event.shard, self._ttl, GENESIS]
        result: Any = await guarded(lambda: self._append(keys=keys, args=args))
        if int(result[0]) == 1:
            return None
        return ChainPoint(shard=event.shard, seq=int(as_text(result[1])), mac=as_text(result[2]))

    async def shards(self) -> list[str]:
        members = await guarded(lambda: self._r.smembers(self.shards_key))
        return sorted(as_text(m) for m in members)

    async def anchor(self) -> list[SignedPoint]:
        """Write every shard head that changed since the last anchor to the anchor file; return the lines."""
        anchors = self._require_anchors()
        if self._anchored is None:
            state = await anchors.read_async()
            self._anchored = {s: (p.seq, p.mac) for s, p in state.anchors.items()}
        now = self._clock.now()
        heads = await self._heads(await self.shards())
        points = [sign_point(self._key, type="anchor", point=head, time=now) for head in heads
                  if self._anchored.get(head.shard) != (head.seq, head.mac)]
        await anchors.append_async(points)
        self._anchored.update({p.shard: (p.seq, p.mac) for p in points})
        return points

    async def verify(self) -> AuditReport:
        """Walk every shard (known to Redis or to the anchor file) and report what does not add up."""
        state = await self._anchors.read_async() if self._anchors else AnchorState()
        names = sorted(set(await self.shards()) | state.anchors.keys() | state.checkpoints.keys())
        reports = [(await self._inspect(name, state)).report for name in names]
        return AuditReport(shards=reports, problems=state.problems, anchored=self._anchors is not None)

    async def trim(self, before: datetime) -> TrimResult:
        """Remove events older than ``before`` (whole old shards or a shard's prefix) at signed checkpoints.

        A shard that fails verification is left alone (see ``TrimResult.skipped``)."""
        before = _aware(before)
        state = await self._require_anchors().read_async()
        result = TrimResult()
        for shard in await self.shards():
            day = shard_day(shard)
            if day is not None and day <= before.date():
                await self._trim_shard(shard, day=day, before=before, state=state, result=result)
        return result

    async def export(self, since: datetime) -> AsyncIterator[dict[str, Any]]:
        """Events at or after ``since``, in time order, as JSON-ready dicts (one UTC day in memory at a time)."""
        since = _aware(since)
        names = [s for s in await self.shards() if (day := shard_day(s)) is not None and day >= since.date()]
        for _, group in groupby(names, key=shard_day):
            events = [e for shard in list(group) for _, e in (await self._load(shard))[0] if e.ts >= since]
            for event in sorted(events, key=_order):
                yield event.model_dump(mode="json")

    async def timeline(self, run_id: str) -> list[AuditEvent]:
        """One run's events in time order, through the per-run index."""
        refs = await guarded(lambda: self._r.lrange(self.run_key(run_id), 0, MAX_TIMELINE - 1))
        pipe = self._r.pipeline(transaction=False)
        for ref in refs:
            shard, _, entry = as_text(ref).rpartition("|")
            pipe.xrange(self.stream_key(shard), min=entry, max=entry, count=1)
        rows = await guarded(pipe.execute) if refs else []
        events = [event for row in rows for _, event in _parse(row)[0]]
        return sorted((e for e in events if e.run_id == run_id), key=_order)

    async def _trim_shard(
        self, shard: str, *, day: date, before: datetime, state: AnchorState, result: TrimResult
    ) -> None:
        view = await self._inspect(shard, state)
        if not view.report.ok:
            result.skipped[shard] = view.report.problems[0].what
            return
        base, entries = view.report.base_seq, view.entries
        cut = next((i for i, (_, e) in enumerate(entries) if e.seq > base and e.ts >= before), len(entries))
        now = self._clock.now()
        # a whole shard goes only once its day is over (no more appends) and entirely before ``before``
        whole = cut == len(entries) and day < min(before.date(), now.date() - timedelta(days=1))
        fresh = [e.point() for _, e in entries[:cut] if e.seq > base]
        point = view.head if whole else (fresh[-1] if fresh else None)
        if point is None or (not fresh and not whole):
            return
        checkpoint = sign_point(self._key, type="checkpoint", point=point, time=now)
        await self._require_anchors().append_async([checkpoint])
        min_id = entries[cut][0] if cut < len(entries) else _next_id(entries[-1][0]) if entries else "0-1"
        keys = [self.stream_key(shard), self.head_key(shard), self.shards_key]
        args: list[str | int] = [checkpoint.model_dump_json(), min_id, "1" if whole else "0", point.seq, shard]
        await guarded(lambda: self._trim(keys=keys, args=args))
        result.checkpoints.append(checkpoint)
        result.removed += cut

    async def _inspect(self, shard: str, state: AnchorState) -> _Shard:
        entries, bad = await self._load(shard)
        raw: Any = await guarded(lambda: self._r.hgetall(self.head_key(shard)))
        fields = {as_text(k): as_text(v) for k, v in raw.items()}
        head = ChainPoint(shard=shard, seq=int(fields["seq"]), mac=fields["mac"]) if "seq" in fields else None
        checkpoints = [state.checkpoints[shard]] if shard in state.checkpoints else []
        if "checkpoint" in fields:
            try:
                checkpoints.append(SignedPoint.model_validate_json(fields["checkpoint"]))
            except ValidationError:
                bad.append("head checkpoint")
        report = verify_shard(self._key, shard=shard, events=[e for _, e in entries], head=head,
                              anchor=state.anchors.get(shard), checkpoints=checkpoints, bad_entries=bad)
        return _Shard(entries=entries, head=head, report=report)

    async def _load(self, shard: str) -> tuple[list[Entry], list[str]]:
        """Every entry of a shard's stream, in stream order, read in batches; plus ids that do not parse."""
        entries: list[Entry] = []
        bad: list[str] = []
        start = "-"
        while True:
            rows: Any = await guarded(partial(self._r.xrange, self.stream_key(shard), min=start, count=BATCH))
            good, wrong = _parse(rows)
            entries += good
            bad += wrong
            if len(rows) < BATCH:
                return entries, bad
            start = "(" + as_text(rows[-1][0])

    async def _heads(self, shards: Sequence[str]) -> list[ChainPoint]:
        pipe = self._r.pipeline(transaction=False)
        for shard in shards:
            pipe.hmget(self.head_key(shard), "seq", "mac")
        rows = await guarded(pipe.execute) if shards else []
        return [ChainPoint(shard=shard, seq=int(as_text(seq)), mac=as_text(mac))
                for shard, (seq, mac) in zip(shards, rows, strict=True) if seq is not None and mac is not None]

    def _require_anchors(self) -> AnchorFile:
        if self._anchors is None:
            raise ConfigError("no audit anchor file is configured")
        return self._anchors


def _parse(rows: Sequence[Any]) -> tuple[list[Entry], list[str]]:
    entries: list[Entry] = []
    bad: list[str] = []
    for entry_id, fields in rows:
        data = fields.get(b"e", fields.get("e"))
        try:
            entries.append((as_text(entry_id), AuditEvent.model_validate_json(data or b"")))
        except ValidationError:
            bad.append(as_text(entry_id))
    return entries, bad


def _order(event: AuditEvent) -> tuple[datetime, str, int]:
    return event.ts, event.shard, event.seq


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("audit time bounds must be timezone-aware")
    return moment.astimezone(UTC)


def _next_id(entry_id: str) -> str:
    ms, _, n = entry_id.partition("-")
    return f"{ms}-{int(n) + 1}"
