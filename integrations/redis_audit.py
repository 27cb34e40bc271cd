"""AuditLog on Redis Streams: HMAC-chained events, one stream per shard (UTC day + worker).

Keys (``{prefix}audit:`` + …): ``{shard}`` the stream (field ``e``: the event JSON), ``{shard}:head`` a hash
(seq, mac and, after a trim, the signed checkpoint), ``shards`` the set of shard names, ``run:{run_id}`` a list
of ``shard|entry-id`` per run (expires ``run_index_ttl`` after the run's last event), and ``eid:{event_id}``
(``shard|entry-id`` of the event appended with that idempotency id, kept ``event_id_ttl``). Appends run one Lua
script that skips an event id already seen and checks the expected head before XADD, so concurrent appenders
can neither fork a chain nor append the same event twice. The audit keys never reach Redis: macs are computed
here. What may be trimmed and what a verification concludes is decided in the core (``bot/core/audit_policy.py``,
``bot/core/audit_verify.py``); this adapter only reads and writes Redis.

Group commit: the events a process appends while its previous append is on the wire are sealed in order, each
chained to the one before, and sent together in one script call (checked and appended in order, all or up to an
event id already seen) — one round trip for many concurrent runs, with the same chain and the same guarantees.
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

# A batch of events chained in order. KEYS: stream, head, shard set, then each event's event-id key and run index
# when present. ARGV: expected seq, expected mac, shard, run index ttl (s), genesis mac, event-id ttl (s), count,
# then per event: seq, event json, mac, event-id key position, run index position (0 = absent).
# Returns {1, entry ids...}, {0, current seq, current mac} (the head moved: nothing appended) or
# {2, k, 'shard|entry id', entry ids...} (the k-th event's id was seen: the k-1 before it were appended).
_APPEND_MANY = """
local seq = redis.call('HGET', KEYS[2], 'seq') or '0'
local mac = redis.call('HGET', KEYS[2], 'mac') or ARGV[5]
if seq ~= ARGV[1] or mac ~= ARGV[2] then return {0, seq, mac} end
local ids = {}
for i = 1, tonumber(ARGV[7]) do
  local base = 7 + (i - 1) * 5
  local eid, run = tonumber(ARGV[base + 4]), tonumber(ARGV[base + 5])
  if eid > 0 then
    local seen = redis.call('GET', KEYS[eid])
    if seen then
      if #ids > 0 then redis.call('SADD', KEYS[3], ARGV[3]) end
      return {2, i, seen, unpack(ids)}
    end
  end
  local id = redis.call('XADD', KEYS[1], '*', 'e', ARGV[base + 2])
  redis.call('HSET', KEYS[2], 'seq', ARGV[base + 1], 'mac', ARGV[base + 3])
  if eid > 0 then redis.call('SET', KEYS[eid], ARGV[3] .. '|' .. id, 'EX', ARGV[6]) end
  if run > 0 then
    redis.call('RPUSH', KEYS[run], ARGV[3] .. '|' .. id)
    redis.call('EXPIRE', KEYS[run], ARGV[4])
  end
  ids[#ids + 1] = id
end
redis.call('SADD', KEYS[3], ARGV[3])
return {1, unpack(ids)}
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


@dataclass(frozen=True, kw_only=True)
class _Request:
    """An event waiting for its append (group commit), and where its outcome goes."""

    kind: str
    run_id: str | None
    actor: str | None
    attrs: dict[str, Any]
    event_id: str | None
    done: asyncio.Future[AuditEvent | None]


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
        self._append_many = redis.register_script(_APPEND_MANY)
        self._pending: list[_Request] = []
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
        ``event_id`` already appended, append nothing and return the first event (None once trimmed).
        Events recorded while another append is on the wire go with the next one (group commit)."""
        request = _Request(kind=kind, run_id=run_id, actor=actor, attrs=dict(attrs), event_id=event_id,
                           done=asyncio.get_running_loop().create_future())
        self._pending.append(request)
        try:
            async with self._lock:
                if not request.done.done():
                    batch, self._pending = self._pending, []
                    await self._commit_all(batch)
        except asyncio.CancelledError:
            if request in self._pending:  # not sent: it is not appended
                self._pending.remove(request)
            raise
        return await request.done

    async def _commit_all(self, batch: list[_Request]) -> None:
        try:
            await self._commit(batch)
        except BaseException as exc:
            for r in batch:
                if not r.done.done():
                    r.done.set_exception(exc if isinstance(exc, Exception) else ConflictError(
                        "the audit append was interrupted"))
            if not isinstance(exc, Exception):
                raise
            return

    async def _commit(self, batch: list[_Request]) -> None:
        now = self._clock.now()
        shard = shard_name(now, self._worker)
        head = self._head if self._head and self._head.shard == shard else ChainPoint(shard=shard, seq=0, mac=GENESIS)
        for _ in range(self._attempts):
            if not batch:
                return
            sealed, prev, kept = [], head, []
            for r in batch:
                try:
                    event = seal(self._keys.current, shard=shard, seq=prev.seq + 1, prev=prev.mac, kind=r.kind,
                                 run_id=r.run_id, actor=r.actor, ts=now, attrs=r.attrs, event_id=r.event_id)
                except Exception as exc:  # noqa: BLE001 - an unsafe attribute fails its own append alone
                    r.done.set_exception(exc)
                    continue
                kept.append(r)
                sealed.append(event)
                prev = event.point()
            batch = kept
            if not batch:
                return
            outcome = await self._try_append_many(sealed, head)
            if isinstance(outcome, ChainPoint):  # the head moved: seal the batch again on it
                head = outcome
                continue
            appended, seen = outcome
            for r, event in zip(batch, sealed[:appended], strict=False):
                r.done.set_result(event)
            if appended:
                head = self._head = sealed[appended - 1].point()
            if seen is None:
                return
            batch[appended].done.set_result(await self._read_ref(seen))
            batch = batch[appended + 1:]
        raise ConflictError(f"audit shard {shard} kept moving under us")

    async def _try_append_many(self, events: list[AuditEvent], head: ChainPoint) -> ChainPoint | tuple[int, str | None]:
        """Append ``events`` (chained on ``head``) in order: (how many were appended, the ref of the event id seen
        that stopped them, or None), or the head now there when it moved."""
        if len(events) == 1:
            one = await self._try_append(events[0], head)
            if isinstance(one, ChainPoint):
                return one
            return (0, one.ref) if isinstance(one, _Seen) else (1, None)
        keys = [self.stream_key(head.shard), self.head_key(head.shard), self.shards_key]
        args: list[str | int] = [head.seq, head.mac, head.shard, self._ttl, GENESIS, self._eid_ttl, len(events)]
        for event in events:
            eid_at, run_at = self._event_keys(keys, event)
            args += [event.seq, event.model_dump_json(), event.mac, eid_at, run_at]
        result: Any = await guarded(lambda: self._append_many(keys=keys, args=args))
        if int(result[0]) == 0:
            return ChainPoint(shard=head.shard, seq=int(as_text(result[1])), mac=as_text(result[2]))
        if int(result[0]) == 2:
            return int(result[1]) - 1, as_text(result[2])
        return len(events), None

    def _event_keys(self, keys: list[str], event: AuditEvent) -> tuple[int, int]:
        """Append ``event``'s id key and run key to ``keys``; their 1-based positions (0: none) for the scripts."""
        eid_at = run_at = 0
        if event.eid:
            keys.append(self.event_id_key(event.eid))
            eid_at = len(keys)
        if event.run_id:
            keys.append(self.run_key(event.run_id))
            run_at = len(keys)
        return eid_at, run_at

    async def _try_append(self, event: AuditEvent, head: ChainPoint) -> ChainPoint | _Seen | None:
        """Append if the id is new and the shard's head is still ``head``; else say what is there instead."""
        keys = [self.stream_key(event.shard), self.head_key(event.shard), self.shards_key]
        eid_at, run_at = self._event_keys(keys, event)
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
