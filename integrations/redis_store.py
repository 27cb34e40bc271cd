"""RunStore on Redis: one hash per run (version + JSON document), written with a compare-and-set script that
can enqueue a job in the same atomic step (into the queue of ``integrations.redis_queue``)."""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from bot.core.errors import AlreadyUsed, ConflictError, NotFound, StoreUnavailable
from bot.core.lru import Recent
from bot.core.models import Job, Run
from bot.core.ports import RunStore
from integrations.redis_conn import GroupedScript, as_text, guarded
from integrations.redis_deliveries import ONCE_SECONDS, once_key
from integrations.redis_queue import PRELUDE, lane

__all__ = ["RedisRunStore", "as_text", "guarded"]
log = logging.getLogger("maple.store")
THREAD_TTL = 7 * 86400  # runs that never expire: their threads are followed up for a week
LAST_SEEN_MAX = 4096  # runs whose last written or read document this process keeps (``get_for_update``)

# KEYS: run hash, the runs index, then thread keys. ARGV: prefix, expected version ("" = must not exist), new
# version, document, ttl, job ("" = none), the job's lane, run id, created (epoch s), the thread keys' ttl,
# "1" when KEYS[3] is the thread the run starts in (set: the newest run of a thread is the one followed up); the
# other thread keys (threads of Maple's answers) are set only if free; then a request's used-once key ("" = none)
# and how long it is kept: a new run is written only if that key was never used (-2: a replay, nothing written).
_CAS = PRELUDE + """
if ARGV[12] ~= '' and not redis.call('SET', ARGV[12], '1', 'NX', 'EX', tonumber(ARGV[13])) then return -2 end
local cur = redis.call('HGET', KEYS[1], 'v')
if ARGV[2] == '' then
  if cur then return 0 end
  redis.call('ZADD', KEYS[2], tonumber(ARGV[9]), ARGV[8])
  if ARGV[5] ~= '0' then
    redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', tonumber(ARGV[9]) - tonumber(ARGV[5]))
  end
elseif cur ~= ARGV[2] then
  if not cur then return -1 end
  return 0
end
redis.call('HSET', KEYS[1], 'v', ARGV[3], 'doc', ARGV[4])
if ARGV[5] ~= '0' then redis.call('EXPIRE', KEYS[1], ARGV[5]) end
if ARGV[6] ~= '' then push(ARGV[7], ARGV[6]) end
local first = 3
if ARGV[11] == '1' then
  redis.call('SET', KEYS[3], ARGV[8], 'EX', tonumber(ARGV[10]))
  first = 4
end
for i = first, #KEYS do redis.call('SET', KEYS[i], ARGV[8], 'NX', 'EX', tonumber(ARGV[10])) end
return 1
"""


class RedisRunStore(RunStore):
    def __init__(self, *, redis: aioredis.Redis, prefix: str = "maple:", ttl_seconds: int = 0) -> None:
        """``ttl_seconds``: a run (with the text of its goal and drafts) expires this long after its last change;
        the audit trail keeps only hashes. 0 keeps runs forever."""
        self._r = redis
        self._prefix = prefix
        self._ttl = ttl_seconds
        self._cas = GroupedScript(redis, _CAS)  # a burst's run writes share round trips
        self._last: Recent[str, str | bytes] = Recent(LAST_SEEN_MAX)  # run id → its document as last seen here

    def _remember(self, run_id: str, doc: str | bytes | None) -> None:
        if doc is None:
            self._last.pop(run_id)
        else:
            self._last.put(run_id, doc)

    def run_key(self, run_id: str) -> str:
        return f"{self._prefix}run:{run_id}"

    @property
    def index(self) -> str:
        return f"{self._prefix}runs:by_created"

    async def since(self, at: datetime, *, limit: int = 5000) -> list[Run]:
        newest = await guarded(lambda: self._r.zrevrangebyscore(self.index, "+inf", int(at.timestamp()), start=0,
                                                                num=limit))
        ids = list(reversed(newest))  # the newest ``limit``, oldest first
        runs: list[Run] = []
        for start in range(0, len(ids), 200):
            chunk = [self.run_key(as_text(i)) for i in ids[start:start + 200]]
            pipe = self._r.pipeline(transaction=False)
            for key in chunk:
                pipe.hget(key, "doc")
            for doc in await guarded(pipe.execute):
                if doc is not None:
                    runs.append(Run.model_validate_json(doc))
        return runs

    @property
    def dead_stream(self) -> str:
        return f"{self._prefix}jobs:dead"

    async def _write(self, run: Run, *, expected: str, job: Job | None, once: str | None = None) -> Run:
        """One atomic write: the run (compare-and-set), its job, and the thread index follow-ups are found by —
        so a reply in the thread of a run, or of its answer, always finds it once Slack shows the message."""
        new = run.model_copy(update={"version": run.version + 1})
        if job is not None and job.user is None:
            job = job.model_copy(update={"user": run.requester})  # the queue's fairness lane
        started = run.origin_thread() if expected == "" else None
        threads = [self._thread_key(*key) for key in ([started] if started else []) + run.answer_threads()]
        doc = new.model_dump_json()
        args = [self._prefix, expected, str(new.version), doc, str(self._ttl),
                job.model_dump_json() if job else "", lane(job) if job else "", run.id,
                str(int(run.created_at.timestamp())), str(self._ttl or THREAD_TTL), "1" if started else "",
                once_key(self._prefix, once) if once is not None else "", str(ONCE_SECONDS)]
        keys = [self.run_key(run.id), self.index, *threads]
        try:
            result: Any = await guarded(lambda: self._cas(keys=keys, args=args))
        except StoreUnavailable:
            self._remember(run.id, None)  # the write may or may not have happened
            raise
        if result == 1:
            self._remember(run.id, doc)
            return new
        self._remember(run.id, None)
        if result == -1:
            raise NotFound(run.id)
        if result == -2:
            raise AlreadyUsed(run.id)
        raise ConflictError(f"run {run.id} changed concurrently")

    async def create(self, run: Run, *, job: Job | None = None, once: str | None = None) -> Run:
        return await self._write(run.model_copy(update={"version": 0}), expected="", job=job, once=once)

    def _thread_key(self, channel: str, thread_ts: str) -> str:
        return f"{self._prefix}thread:{channel}:{thread_ts}"

    async def thread_run(self, *, channel: str, thread_ts: str) -> str | None:
        run_id = await guarded(lambda: self._r.get(self._thread_key(channel, thread_ts)))
        return None if run_id is None else as_text(run_id)

    async def save(self, run: Run, *, job: Job | None = None) -> Run:
        return await self._write(run, expected=str(run.version), job=job)

    async def get(self, run_id: str) -> Run:
        doc = await guarded(lambda: self._r.hget(self.run_key(run_id), "doc"))
        self._remember(run_id, doc)
        if doc is None:
            raise NotFound(run_id)
        return Run.model_validate_json(doc)

    async def get_for_update(self, run_id: str) -> Run:
        """The document this process last wrote or read, without a round trip (``RunStore.get_for_update``)."""
        doc = self._last.get(run_id)
        return Run.model_validate_json(doc) if doc is not None else await self.get(run_id)

    async def list_failed(self, *, limit: int = 50) -> list[Run]:
        entries = await guarded(lambda: self._r.xrevrange(self.dead_stream, count=limit))
        runs: list[Run] = []
        for _id, fields in entries:
            try:
                job = json.loads(as_text(fields.get(b"job") or fields.get("job") or "{}"))
                runs.append(await self.get(str(job.get("run_id", ""))))
            except (ValueError, AttributeError, NotFound):
                continue  # a malformed job, or a run that has expired
        return runs

    async def erase(self, run_id: str) -> bool:
        """Delete a run record — its goal, drafts, edits and review notes — for good (``maple purge``). Its thread
        index entries (a run id, no text) stay until their TTL, so a reply in its thread is told it is no longer
        kept instead of starting a new run."""
        self._remember(run_id, None)
        pipe = self._r.pipeline(transaction=True)
        pipe.delete(self.run_key(run_id))
        pipe.zrem(self.index, run_id)
        deleted, _ = await guarded(pipe.execute)
        return bool(deleted)

    async def every_id(self) -> list[str]:
        """Every run record still in Redis, found by its key — also one whose index entry was trimmed (the index
        drops runs by creation time, a record lives its retention after its last change). For ``maple purge``."""
        key = self.run_key("")

        async def scan() -> list[str]:
            return [as_text(k)[len(key):] async for k in self._r.scan_iter(match=key + "*", count=1000)]

        return await guarded(scan)

    async def ids_created_before(self, at: datetime) -> list[str]:
        ids = await guarded(lambda: self._r.zrangebyscore(self.index, "-inf", f"({int(at.timestamp())}"))
        return [as_text(i) for i in ids]

    async def ids_since(self, at: datetime) -> list[str]:
        return [as_text(i) for i in await guarded(lambda: self._r.zrangebyscore(self.index, int(at.timestamp()),
                                                                                  "+inf"))]

    async def ping(self) -> bool:
        try:
            return bool(await self._r.ping())
        except (RedisError, OSError):
            return False
