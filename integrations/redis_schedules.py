"""ScheduleStore on Redis: schedules as JSON documents, firings as keys claimed with a lease and settled once.

    schedules                HASH   schedule id → the schedule's JSON (its ``version`` inside, compared on write)
    schedule:fire:<id>:<t>   STRING "claimed:<token>" (with a lease, PX) or "done:<result>[:<run>]" (kept 40 days)
    schedule:state:<id>      HASH   last (the latest settled fire time, epoch s), last_fired (epoch s)
    schedules:cursor         HASH   schedule id → its latest settled fire time (read for all schedules at once)
    schedule:log:<id>        LIST   the 50 latest fire records (JSON), newest first
    schedules:changed        PUB/SUB channel: the id of every schedule created, changed or deleted

Every write is one Lua script, so two processes never both settle a fire time, and a change is published in the
same step that makes it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import redis.asyncio as aioredis
from pydantic import ValidationError

from bot.core.errors import ConflictError, NotFound
from bot.core.schedule_models import FireRecord, FireState, Schedule, ScheduleStore
from integrations.redis_conn import as_text, guarded

log = logging.getLogger("maple.schedules.store")
DONE_TTL = 40 * 86400
LOG_KEEP = 50

# KEYS: schedules hash. ARGV: id, expected version ("" = must not exist), document, changes channel
_SAVE = """
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if ARGV[2] == '' then
  if cur then return 0 end
else
  if not cur then return -1 end
  if tostring(cjson.decode(cur)['version']) ~= ARGV[2] then return 0 end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
redis.call('PUBLISH', ARGV[4], ARGV[1])
return 1
"""
# KEYS: schedules hash, state, log, cursors. ARGV: id, changes channel
_DELETE = """
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[4], ARGV[1])
redis.call('DEL', KEYS[2], KEYS[3])
redis.call('PUBLISH', ARGV[2], ARGV[1])
return 1
"""
# KEYS: fire key, state, log, cursors, schedules hash. ARGV: result tag, record JSON, epoch (cursor; '' = a manual
# start), fired ('1'/'0'), done ttl, log keep, schedule id. A schedule deleted while its firing was in flight gets
# no state, log or cursor again (they have no expiry: they would stay forever).
_SETTLE = """
local cur = redis.call('GET', KEYS[1])
if cur and string.sub(cur, 1, 5) == 'done:' then return 0 end
redis.call('SET', KEYS[1], 'done:' .. ARGV[1], 'EX', tonumber(ARGV[5]))
if redis.call('HEXISTS', KEYS[5], ARGV[7]) == 0 then return 1 end
if ARGV[3] ~= '' then
  local last = tonumber(redis.call('HGET', KEYS[2], 'last') or '0')
  if tonumber(ARGV[3]) > last then
    redis.call('HSET', KEYS[2], 'last', ARGV[3])
    redis.call('HSET', KEYS[4], ARGV[7], ARGV[3])
  end
end
if ARGV[4] == '1' then
  local at = tonumber(cjson.decode(ARGV[2])['epoch'])
  local lf = tonumber(redis.call('HGET', KEYS[2], 'last_fired') or '0')
  if at > lf then redis.call('HSET', KEYS[2], 'last_fired', tostring(at)) end
end
redis.call('LPUSH', KEYS[3], ARGV[2])
redis.call('LTRIM', KEYS[3], 0, tonumber(ARGV[6]) - 1)
return 1
"""
# KEYS: state, log, cursors, schedules hash, fire keys... ARGV: record JSON, newest epoch, done ttl, log keep,
# schedule id
_MISS = """
local n = 0
for i = 5, #KEYS do
  if redis.call('SET', KEYS[i], 'done:missed', 'NX', 'EX', tonumber(ARGV[3])) then n = n + 1 end
end
if redis.call('HEXISTS', KEYS[4], ARGV[5]) == 0 then return 0 end
local last = tonumber(redis.call('HGET', KEYS[1], 'last') or '0')
if tonumber(ARGV[2]) > last then
  redis.call('HSET', KEYS[1], 'last', ARGV[2])
  redis.call('HSET', KEYS[3], ARGV[5], ARGV[2])
end
if n > 0 then
  local rec = cjson.decode(ARGV[1])
  rec['count'] = n
  redis.call('LPUSH', KEYS[2], cjson.encode(rec))
  redis.call('LTRIM', KEYS[2], 0, tonumber(ARGV[4]) - 1)
end
return n
"""


class RedisScheduleStore(ScheduleStore):
    def __init__(self, *, redis: aioredis.Redis, prefix: str = "maple:") -> None:
        self._r, self._p = redis, prefix
        self.docs = f"{prefix}schedules"
        self.cursor = f"{prefix}schedules:cursor"
        self.channel = f"{prefix}schedules:changed"
        self._save = redis.register_script(_SAVE)
        self._delete = redis.register_script(_DELETE)
        self._settle = redis.register_script(_SETTLE)
        self._miss = redis.register_script(_MISS)

    def fire(self, schedule_id: str, key: str) -> str:
        return f"{self._p}schedule:fire:{schedule_id}:{key}"

    def _state(self, schedule_id: str) -> str:
        return f"{self._p}schedule:state:{schedule_id}"

    def _log(self, schedule_id: str) -> str:
        return f"{self._p}schedule:log:{schedule_id}"

    async def _write(self, schedule: Schedule, expected: str) -> Schedule:
        new = schedule.model_copy(update={"version": schedule.version + (0 if expected == "" else 1)})
        result: Any = await guarded(lambda: self._save(
            keys=[self.docs], args=[new.id, expected, new.model_dump_json(), self.channel]))
        if result == 1:
            return new
        if result == -1:
            raise NotFound(schedule.id)
        raise ConflictError(f"schedule {schedule.id} changed concurrently")

    async def create(self, schedule: Schedule) -> Schedule:
        return await self._write(schedule.model_copy(update={"version": 0}), "")

    async def save(self, schedule: Schedule) -> Schedule:
        return await self._write(schedule, str(schedule.version))

    async def get(self, schedule_id: str) -> Schedule:
        doc = await guarded(lambda: self._r.hget(self.docs, schedule_id))
        if doc is None:
            raise NotFound(schedule_id)
        return Schedule.model_validate_json(doc)

    async def all(self) -> list[Schedule]:
        found: list[Schedule] = []
        cursor: Any = 0
        while True:
            cursor, chunk = await guarded(lambda c=cursor: self._r.hscan(self.docs, cursor=c, count=2000))
            for doc in chunk.values():
                try:
                    found.append(Schedule.model_validate_json(doc))
                except ValidationError:
                    log.error("a stored schedule is not valid and is ignored")
            if not int(cursor):
                return found

    async def delete(self, schedule_id: str) -> None:
        await guarded(lambda: self._delete(keys=[self.docs, self._state(schedule_id), self._log(schedule_id),
                                                 self.cursor], args=[schedule_id, self.channel]))

    async def claim(self, schedule_id: str, key: str, *, lease: float) -> str | None:
        token = secrets.token_hex(8)
        ok = await guarded(lambda: self._r.set(self.fire(schedule_id, key), f"claimed:{token}", nx=True,
                                               px=max(1, int(lease * 1000))))
        return token if ok else None

    async def holds(self, schedule_id: str, key: str, token: str) -> bool:
        value = await guarded(lambda: self._r.get(self.fire(schedule_id, key)))
        return value is not None and as_text(value) == f"claimed:{token}"

    async def settle(self, schedule_id: str, key: str, *, record: FireRecord) -> bool:
        tag = record.result + (f":{record.run_id}" if record.run_id else "")
        cursor = "" if record.manual else str(int(record.at.timestamp()))
        payload = _record_json(record)
        result = await guarded(lambda: self._settle(
            keys=[self.fire(schedule_id, key), self._state(schedule_id), self._log(schedule_id), self.cursor,
                  self.docs],
            args=[tag, payload, cursor, "1" if record.result == "fired" else "0", DONE_TTL, LOG_KEEP, schedule_id]))
        return bool(result)

    async def miss(self, schedule_id: str, keys: list[str], *, record: FireRecord) -> int:
        if not keys:
            return 0
        newest = max(int(k) for k in keys)
        result = await guarded(lambda: self._miss(
            keys=[self._state(schedule_id), self._log(schedule_id), self.cursor, self.docs,
                  *(self.fire(schedule_id, k) for k in keys)],
            args=[_record_json(record), str(newest), DONE_TTL, LOG_KEEP, schedule_id]))
        return int(result)

    async def open_keys(self, pairs: list[tuple[str, str]]) -> set[tuple[str, str]]:
        found: set[tuple[str, str]] = set()
        for start in range(0, len(pairs), 2000):
            chunk = pairs[start:start + 2000]
            values = await guarded(lambda c=chunk: self._r.mget([self.fire(s, k) for s, k in c]))
            found.update(pair for pair, value in zip(chunk, values, strict=True) if value is None)
        return found

    async def cursors(self, schedule_ids: list[str]) -> dict[str, datetime]:
        out: dict[str, datetime] = {}
        for start in range(0, len(schedule_ids), 2000):
            chunk = schedule_ids[start:start + 2000]
            values = await guarded(lambda c=chunk: self._r.hmget(self.cursor, c))
            out.update({sid: datetime.fromtimestamp(int(as_text(v)), UTC) for sid, v in zip(chunk, values, strict=True)
                        if v is not None})
        return out

    async def states(self, schedule_ids: list[str]) -> dict[str, FireState]:
        out: dict[str, FireState] = {}
        for start in range(0, len(schedule_ids), 500):
            chunk = schedule_ids[start:start + 500]
            pipe = self._r.pipeline(transaction=False)
            for sid in chunk:
                pipe.hgetall(self._state(sid))
                pipe.lrange(self._log(sid), 0, 9)
            replies = await guarded(pipe.execute)
            for i, sid in enumerate(chunk):
                out[sid] = _fire_state(replies[2 * i], replies[2 * i + 1])
        return out

    async def listen(self, on_change: Callable[[str], Awaitable[None]], *, stop: asyncio.Event,
                     ready: asyncio.Event | None = None) -> None:
        """Call ``on_change(schedule_id)`` for every change announced, until ``stop`` is set; re-subscribe after
        a lost connection (the periodic sweep covers what was announced meanwhile)."""
        while not stop.is_set():
            pubsub = self._r.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self.channel)
                if ready is not None:
                    ready.set()
                while not stop.is_set():
                    message = await pubsub.get_message(timeout=1.0)
                    if message and message.get("type") == "message":
                        await on_change(as_text(message["data"]))
            except (OSError, ConnectionError, aioredis.RedisError) as exc:
                log.warning("schedule changes: subscription lost", extra={"error": type(exc).__name__})
                await asyncio.sleep(1.0)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()


def _record_json(record: FireRecord) -> str:
    data = record.model_dump(mode="json")
    data["epoch"] = int(record.at.timestamp())
    return json.dumps(data)


def _fire_state(state: dict[Any, Any], rows: list[Any]) -> FireState:
    fields = {as_text(k): as_text(v) for k, v in state.items()}
    history: list[FireRecord] = []
    for row in rows:
        with contextlib.suppress(ValidationError, ValueError):
            history.append(FireRecord.model_validate_json(row))

    def at(name: str) -> datetime | None:
        value = fields.get(name)
        return datetime.fromtimestamp(int(float(value)), UTC) if value else None

    return FireState(last=at("last"), last_fired=at("last_fired"), history=history)
