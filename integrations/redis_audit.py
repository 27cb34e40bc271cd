"""AuditLog on Redis Streams: HMAC-chained events, one stream per shard (UTC day + worker).

Keys (``{prefix}audit:`` + …): ``{shard}`` the stream (field ``e``: the event JSON), ``{shard}:head`` a hash
(seq, mac and, after a trim, the signed checkpoint), ``shards`` the set of shard names, ``run:{run_id}`` a list
of ``shard|entry-id`` per run (expires ``run_index_ttl`` after the run's last event), and ``eid:{event_id}``
(``shard|entry-id`` of the event appended with that idempotency id, kept ``event_id_ttl``). Appends run one Lua
script that skips an event id already seen and checks the expected head before XADD, so concurrent appenders
can neither fork a chain nor append the same event twice. The audit keys never reach Redis: macs are computed
here. What may be trimmed and what a verification concludes is decided in the core (``bot/core/audit_policy.py``,
``bot/core/audit_verify.py``); this adapter only reads and writes Redis.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

import redis.asyncio as aioredis
from pydantic import ValidationError

from bot.core.audit import GENESIS, AnchorState, AuditEvent, ChainPoint, SignedPoint, seal, shard_name
from bot.core.audit_keys import Keyring, keyed_digest
from bot.core.audit_policy import TrimPlan, event_order, export_days
from bot.core.audit_verify import AuditReport, ShardReport, verify_shard
from bot.core.errors import ConfigError, ConflictError
from bot.core.ports import AuditLog, Clock
from integrations.audit_anchor import AnchorFile
from integrations.redis_store import as_text, guarded

BATCH = 500
MAX_TIMELINE = 1000

# KEYS: stream, head, shard set, then the event-id key and the run index when present (their positions in
# ARGV[9] and ARGV[10], 0 = absent). ARGV: expected seq, expected mac, new seq, event json, new mac, shard,
# run index ttl (s), genesis mac, event-id key position, run index position, event-id ttl (s).
# Returns {1, entry id}, {0, current seq, current mac} (the head moved) or {2, 'shard|entry id'} (seen id).
_APPEND = """
local eid, run = tonumber(ARGV[9]), tonumber(ARGV[10])
if eid > 0 then
  local seen = redis.call('GET', KEYS[eid])
  if seen then return {2, seen} end
end
local seq = redis.call('HGET', KEYS[2], 'seq') or '0'
local mac = redis.call('HGET', KEYS[2], 'mac') or ARGV[8]
if seq ~= ARGV[1] or mac ~= ARGV[2] then return {0, seq, mac} end
local id = redis.call('XADD', KEYS[1], '*', 'e', ARGV[4])
redis.call('HSET', KEYS[2], 'seq', ARGV[3], 'mac', ARGV[5])
redis.call('SADD', KEYS[3], ARGV[6])
if eid > 0 then redis.call('SET', KEYS[eid], ARGV[6] .. '|' .. id, 'EX', ARGV[11]) end
if run > 0 then
  redis.call('RPUSH', KEYS[run], ARGV[6] .. '|' .. id)
  redis.call('EXPIRE', KEYS[run], ARGV[7])
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
class StoredShard:
    """One shard as Redis holds it, and what the core concluded about it."""

    entries: list[Entry]
    head: ChainPoint | None
    report: ShardReport

    @property
    def events(self) -> list[AuditEvent]:
        return [event for _, event in self.entries]


@dataclass(frozen=True)
class _Seen:
    ref: str  # shard|entry id of the event first appended with this id


class RedisAuditLog(AuditLog):
    def __init__(
        self, *, redis: aioredis.Redis, keys: Keyring, prefix: str, worker: str, clock: Clock,
        anchors: AnchorFile | None = None, run_index_ttl: timedelta = timedelta(days=90),
        event_id_ttl: timedelta = timedelta(days=31), attempts: int = 100,
    ) -> None:
        try:
            shard_name(clock.now(), worker)
        except ValueError as exc:
            raise ConfigError(str(exc)) from exc
        self._r, self._keys, self._prefix, self._worker, self._clock = redis, keys, prefix, worker, clock
        self.anchors = anchors
        self._ttl, self._eid_ttl = int(run_index_ttl.total_seconds()), int(event_id_ttl.total_seconds())
        self._attempts = attempts
        self._append = redis.register_script(_APPEND)
        self._trim = redis.register_script(_TRIM)
        self._lock = asyncio.Lock()
        self._head: ChainPoint | None = None

    def stream_key(self, shard: str) -> str:
        return f"{self._prefix}audit:{shard}"

    def head_key(self, shard: str) -> str:
        return f"{self._prefix}audit:{shard}:head"

    @property
    def shards_key(self) -> str:
        return f"{self._prefix}audit:shards"

    def run_key(self, run_id: str) -> str:
        return f"{self._prefix}audit:run:{run_id}"

    def event_id_key(self, event_id: str) -> str:
        return f"{self._prefix}audit:eid:{event_id}"

    def digest(self, text: str) -> str:
        return keyed_digest(self._keys.current, text)

    async def append(
        self, *, kind: str, run_id: str | None, actor: str | None, attrs: Mapping[str, Any],
        event_id: str | None = None,
    ) -> None:
        await self.record(kind=kind, run_id=run_id, actor=actor, attrs=attrs, event_id=event_id)

    async def record(
        self, *, kind: str, run_id: str | None, actor: str | None, attrs: Mapping[str, Any],
        event_id: str | None = None,
    ) -> AuditEvent | None:
        """Append one event to this worker's current shard and return it (sealed, with seq and mac). For an
        ``event_id`` already appended, append nothing and return the first event (None once trimmed)."""
        now = self._clock.now()
        shard = shard_name(now, self._worker)
        async with self._lock:
            head = self._head if self._head and self._head.shard == shard else ChainPoint(shard=shard, seq=0,
                                                                                          mac=GENESIS)
            for _ in range(self._attempts):
                event = seal(self._keys.current, shard=shard, seq=head.seq + 1, prev=head.mac, kind=kind,
                             run_id=run_id, actor=actor, ts=now, attrs=attrs, event_id=event_id)
                outcome = await self._try_append(event, head)
                if outcome is None:
                    self._head = event.point()
                    return event
                if isinstance(outcome, _Seen):
                    return await self._read_ref(outcome.ref)
                head = outcome
        raise ConflictError(f"audit shard {shard} kept moving under us")

    async def _try_append(self, event: AuditEvent, head: ChainPoint) -> ChainPoint | _Seen | None:
        """Append if the id is new and the shard's head is still ``head``; else say what is there instead."""
        keys = [self.stream_key(event.shard), self.head_key(event.shard), self.shards_key]
        eid_at = run_at = 0
        if event.eid:
            keys.append(self.event_id_key(event.eid))
            eid_at = len(keys)
        if event.run_id:
            keys.append(self.run_key(event.run_id))
            run_at = len(keys)
        args: list[str | int] = [head.seq, head.mac, event.seq, event.model_dump_json(), event.mac, event.shard,
                                 self._ttl, GENESIS, eid_at, run_at, self._eid_ttl]
        result: Any = await guarded(lambda: self._append(keys=keys, args=args))
        if int(result[0]) == 1:
            return None
        if int(result[0]) == 2:
            return _Seen(ref=as_text(result[1]))
        return ChainPoint(shard=event.shard, seq=int(as_text(result[1])), mac=as_text(result[2]))

    async def _read_ref(self, ref: str) -> AuditEvent | None:
        shard, _, entry = ref.rpartition("|")
        rows: Any = await guarded(partial(self._r.xrange, self.stream_key(shard), min=entry, max=entry, count=1))
        good, _ = _parse(rows)
        return good[0][1] if good else None

    async def shards(self) -> list[str]:
        members = await guarded(lambda: self._r.smembers(self.shards_key))
        return sorted(as_text(m) for m in members)

    async def heads(self) -> list[ChainPoint]:
        """The head record of every known shard."""
        shards = await self.shards()
        pipe = self._r.pipeline(transaction=False)
        for shard in shards:
            pipe.hmget(self.head_key(shard), "seq", "mac")
        rows = await guarded(pipe.execute) if shards else []
        return [ChainPoint(shard=shard, seq=int(as_text(seq)), mac=as_text(mac))
                for shard, (seq, mac) in zip(shards, rows, strict=True) if seq is not None and mac is not None]

    async def verify(self) -> AuditReport:
        """Walk every shard (known to Redis or to the anchor file); the core says what does not add up."""
        state = await self.anchors.read_async() if self.anchors else AnchorState()
        names = sorted(set(await self.shards()) | state.anchors.keys() | state.checkpoints.keys())
        reports = [(await self.inspect(name, state)).report for name in names]
        return AuditReport(shards=reports, problems=state.problems, anchored=self.anchors is not None,
                           anchor_file=str(self.anchors.path) if self.anchors else None,
                           anchor_lines=state.lines, anchor_signers=state.signers, keyring=self._keys.ids,
                           current_key=self._keys.current.kid)

    async def export(self, since: datetime) -> AsyncIterator[dict[str, Any]]:
        """Events at or after ``since``, in time order, as JSON-ready dicts (one UTC day in memory at a time)."""
        for _, shards in export_days(await self.shards(), since):
            events = [e for shard in shards for _, e in (await self._load(shard))[0] if e.ts >= since]
            for event in sorted(events, key=event_order):
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
        return sorted((e for e in events if e.run_id == run_id), key=event_order)

    async def inspect(self, shard: str, state: AnchorState) -> StoredShard:
        """Read one shard (stream, head, stored checkpoint) and have the core verify it."""
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
        verifier = self.anchors.verifier if self.anchors else None
        report = verify_shard(self._keys, verifier, shard=shard, events=[e for _, e in entries], head=head,
                              anchor=state.anchors.get(shard), checkpoints=checkpoints, bad_entries=bad)
        return StoredShard(entries=entries, head=head, report=report)

    async def cut(self, shard: str, *, stored: StoredShard, plan: TrimPlan, checkpoint: SignedPoint) -> None:
        """Apply a trim plan whose checkpoint is already written outside Redis: keep the checkpoint on the head,
        remove the first ``plan.cut`` entries (or the whole shard, if its head has not moved since)."""
        entries = stored.entries
        min_id = entries[plan.cut][0] if plan.cut < len(entries) else _next_id(entries[-1][0]) if entries else "0-1"
        keys = [self.stream_key(shard), self.head_key(shard), self.shards_key]
        args: list[str | int] = [checkpoint.model_dump_json(), min_id, "1" if plan.whole else "0", plan.point.seq,
                                 shard]
        await guarded(lambda: self._trim(keys=keys, args=args))

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


def _next_id(entry_id: str) -> str:
    ms, _, n = entry_id.partition("-")
    return f"{ms}-{int(n) + 1}"
