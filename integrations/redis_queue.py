"""The durable work queue on Redis: per-user lanes served fairly, and leases that only their owner can renew.

Layout (every key under the deployment's prefix; one Redis primary, see ``integrations.redis_conn``):

    jobs:data     HASH  job id → job JSON, from enqueue until the job is acked or dead-lettered
    jobs:lanes    ZSET  lane (the requester) → virtual time of its next job: the smallest is served next
    jobs:lane:<u> LIST  job ids of one lane, oldest first
    jobs:vclock   the virtual time of the last job served: a lane that was empty starts there, so a user's
                  burst cannot keep someone else's job waiting for more than about one job per busy lane
    jobs:leases   ZSET  job id → lease expiry (ms, Redis clock); an expired lease is taken over by the next claim
    jobs:owner    HASH  job id → the fencing token of its current owner (consumer + delivery number)
    jobs:tries    HASH  job id → deliveries so far (the dead-letter rule)
    jobs:due      ZSET  job JSON → epoch seconds (delayed jobs: review timeouts)
    jobs:dead     STREAM the dead letters, capped at ``dead_max`` entries
    jobs:wake     LIST  wake-up tokens for idle workers (capped)
    workers:alive ZSET  worker process → its last heartbeat (epoch s), for /readyz and the workers gauge
    jobs:since    ZSET  job id → when it was enqueued (ms, Redis clock), until it is acked or dead-lettered

Every step is one Lua script, so it is atomic: a claim takes one job (an expired lease first, else the head of
the fairest lane) and leases it to one owner; renew, ack, release and bury act only if the caller's token still
owns the job — a worker that lost its lease cannot renew, ack or bury what another worker now runs. Jobs leave
Redis when they are acked, so nothing accumulates.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import redis.asyncio as aioredis

from bot.core.models import Job
from bot.core.ports import JobQueue, QueueStats
from integrations.redis_conn import GroupedScript, as_text, guarded

NO_LANE = "-"

# Shared by every script (and by the run store's compare-and-set): ARGV[1] is the key prefix.
PRELUDE = """
local P = ARGV[1]
local K = {data = P .. 'jobs:data', lanes = P .. 'jobs:lanes', vclock = P .. 'jobs:vclock',
           leases = P .. 'jobs:leases', owner = P .. 'jobs:owner', tries = P .. 'jobs:tries',
           due = P .. 'jobs:due', dead = P .. 'jobs:dead', wake = P .. 'jobs:wake', seq = P .. 'jobs:seq',
           since = P .. 'jobs:since'}
local function lane_key(lane) return P .. 'jobs:lane:' .. lane end
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function push(lane, payload)
  local id = tostring(redis.call('INCR', K.seq))
  redis.call('HSET', K.data, id, payload)
  redis.call('ZADD', K.since, now_ms(), id)
  redis.call('RPUSH', lane_key(lane), id)
  if not redis.call('ZSCORE', K.lanes, lane) then
    redis.call('ZADD', K.lanes, tonumber(redis.call('GET', K.vclock) or '0'), lane)
  end
  redis.call('LPUSH', K.wake, id)
  redis.call('LTRIM', K.wake, 0, 63)
  return id
end
local function lane_of(payload)
  local ok, job = pcall(cjson.decode, payload)
  if ok and type(job) == 'table' and type(job.user) == 'string' and job.user ~= '' then return job.user end
  return '""" + NO_LANE + """'
end
local function forget(id)
  redis.call('HDEL', K.data, id)
  redis.call('HDEL', K.owner, id)
  redis.call('HDEL', K.tries, id)
  redis.call('ZREM', K.leases, id)
  redis.call('ZREM', K.since, id)
end
local function owns(id, token) return redis.call('HGET', K.owner, id) == token end
"""

_ENQUEUE = PRELUDE + "return push(ARGV[2], ARGV[3])"

# ARGV: prefix, consumer, lease ms. Due delayed jobs join their lanes first.
_CLAIM = PRELUDE + """
local now = now_ms()
for _, payload in ipairs(redis.call('ZRANGEBYSCORE', K.due, '-inf', now / 1000, 'LIMIT', 0, 50)) do
  redis.call('ZREM', K.due, payload)
  push(lane_of(payload), payload)
end
local id = redis.call('ZRANGEBYSCORE', K.leases, '-inf', now, 'LIMIT', 0, 1)[1]
if not id then
  local head = redis.call('ZRANGE', K.lanes, 0, 0, 'WITHSCORES')
  if #head == 0 then return false end
  local lane, vtime = head[1], tonumber(head[2])
  id = redis.call('LPOP', lane_key(lane))
  redis.call('SET', K.vclock, head[2])
  if redis.call('LLEN', lane_key(lane)) == 0 then
    redis.call('ZREM', K.lanes, lane)
  else
    redis.call('ZADD', K.lanes, vtime + 1, lane)
  end
  if not id then return false end
end
local tries = redis.call('HINCRBY', K.tries, id, 1)
local token = ARGV[2] .. '#' .. tries
redis.call('HSET', K.owner, id, token)
redis.call('ZADD', K.leases, now + tonumber(ARGV[3]), id)
return {id, token, tries, redis.call('HGET', K.data, id) or ''}
"""

# ARGV: prefix, id, token, lease ms
_RENEW = PRELUDE + """
if not owns(ARGV[2], ARGV[3]) then return 0 end
redis.call('ZADD', K.leases, now_ms() + tonumber(ARGV[4]), ARGV[2])
return 1
"""

# ARGV: prefix, id, token
_ACK = PRELUDE + """
if not owns(ARGV[2], ARGV[3]) then return 0 end
forget(ARGV[2])
return 1
"""

# ARGV: prefix, id, token, delay ms, forgive (1: this delivery does not count towards the dead-letter rule)
_RELEASE = PRELUDE + """
if not owns(ARGV[2], ARGV[3]) then return 0 end
redis.call('HDEL', K.owner, ARGV[2])
if ARGV[5] == '1' and tonumber(redis.call('HGET', K.tries, ARGV[2]) or '0') > 0 then
  redis.call('HINCRBY', K.tries, ARGV[2], -1)
end
redis.call('ZADD', K.leases, now_ms() + tonumber(ARGV[4]), ARGV[2])
return 1
"""

# ARGV: prefix, id, token, why, dead_max
_BURY = PRELUDE + """
if not owns(ARGV[2], ARGV[3]) then return 0 end
redis.call('XADD', K.dead, 'MAXLEN', tonumber(ARGV[5]), '*', 'job', redis.call('HGET', K.data, ARGV[2]) or '',
           'why', ARGV[4], 'entry', ARGV[2])
forget(ARGV[2])
return 1
"""


@dataclass(frozen=True)
class Claim:
    """One delivery of a job to one owner. ``token`` fences every later step of this delivery."""

    id: str
    token: str
    tries: int
    payload: str


def lane(job: Job) -> str:
    return job.user or NO_LANE


class RedisJobQueue(JobQueue):
    def __init__(self, *, redis: aioredis.Redis, prefix: str = "maple:", dead_max: int = 1000) -> None:
        self._r = redis
        self.prefix = prefix
        self.dead = f"{prefix}jobs:dead"
        self.due = f"{prefix}jobs:due"
        self.data = f"{prefix}jobs:data"
        self.wake = f"{prefix}jobs:wake"
        self.dead_max = dead_max
        # Group commit (integrations/redis_conn.py): a pool's claims, a burst's enqueues, the renewals of every
        # lease share round trips. Each step is fenced by its token, so a renewal still on the wire when its
        # delivery acks or releases (another script, another round trip) finds the job no longer its own.
        self._enqueue = GroupedScript(redis, _ENQUEUE)
        self._claim = GroupedScript(redis, _CLAIM)
        self._renew = GroupedScript(redis, _RENEW)
        self._ack = GroupedScript(redis, _ACK)
        self._release = GroupedScript(redis, _RELEASE)
        self._bury = GroupedScript(redis, _BURY)

    async def enqueue(self, job: Job) -> None:
        await guarded(lambda: self._enqueue(args=[self.prefix, lane(job), job.model_dump_json()]))

    async def enqueue_at(self, job: Job, *, at: datetime) -> None:
        await guarded(lambda: self._r.zadd(self.due, {job.model_dump_json(): at.timestamp()}))

    async def claim(self, consumer: str, *, lease: float) -> Claim | None:
        """Take one job — an expired lease first, else the fairest lane's oldest — leased to ``consumer``. A caller
        cancelled once its claim was sent does not undo it: the job it took waits for its lease to expire, then the
        next claim takes it over (one cancelled before its claim was sent takes nothing; ``WorkerPool`` waits for its
        claim and gives the job back)."""
        reply: Any = await self._claim(args=[self.prefix, consumer, _ms(lease)])
        if not reply:
            return None
        return Claim(id=as_text(reply[0]), token=as_text(reply[1]), tries=int(reply[2]), payload=as_text(reply[3]))

    async def renew(self, claim: Claim, *, lease: float) -> bool:
        """Extend the lease if ``claim`` still owns the job; False means another owner has it (or it is done)."""
        return bool(await self._renew(args=[self.prefix, claim.id, claim.token, _ms(lease)]))

    async def ack(self, claim: Claim) -> bool:
        return bool(await self._ack(args=[self.prefix, claim.id, claim.token]))

    async def release(self, claim: Claim, *, delay: float, forgive: bool = False) -> bool:
        """Give the job back, to be claimed again (by anyone) after ``delay`` seconds. ``forgive``: this delivery
        failed for a reason outside the job (Redis unreachable, its side effect claimed by an earlier delivery),
        so it does not count towards ``max_attempts``."""
        return bool(await self._release(args=[self.prefix, claim.id, claim.token, _ms(delay),
                                              "1" if forgive else "0"]))

    async def bury(self, claim: Claim, *, why: str) -> bool:
        """Move the job to the (capped) dead-letter stream with its reason."""
        return bool(await self._bury(args=[self.prefix, claim.id, claim.token, why, self.dead_max]))

    async def wait(self, timeout: float) -> None:
        """Sleep until a job is enqueued or ``timeout`` passes (expired leases and due jobs need no wake-up)."""
        await self._r.blpop([self.wake], timeout=timeout)

    async def depth(self) -> int:
        """Jobs not yet acked or dead-lettered: queued, running, or waiting for a retry (not delayed ones)."""
        return int(await guarded(lambda: self._r.hlen(self.data)))

    @property
    def _workers(self) -> str:
        return f"{self.prefix}workers:alive"

    async def beat(self, consumer: str) -> None:
        """A worker process says it is alive (every few seconds; see ``alive``)."""
        now = time.time()
        pipe = self._r.pipeline(transaction=False)
        pipe.zadd(self._workers, {consumer: now})
        pipe.zremrangebyscore(self._workers, "-inf", now - 3600)
        await guarded(pipe.execute)

    async def gone(self, consumer: str) -> None:
        await guarded(lambda: self._r.zrem(self._workers, consumer))

    async def alive(self, *, within: float = 15.0) -> int:
        """Worker processes (on any host) that beat in the last ``within`` seconds."""
        return int(await guarded(lambda: self._r.zcount(self._workers, time.time() - within, "+inf")))

    async def stats(self) -> QueueStats:
        """Depth, jobs waiting for a worker, the oldest unfinished job's age (Redis clock) and dead letters:
        one pipelined read, for ``/metrics`` and for telling users how busy Maple is."""
        pipe = self._r.pipeline(transaction=False)
        pipe.hlen(self.data)
        pipe.zcard(f"{self.prefix}jobs:leases")
        pipe.zrange(f"{self.prefix}jobs:since", 0, 0, withscores=True)
        pipe.time()
        pipe.xlen(self.dead)
        depth, leased, oldest, now, dead = await guarded(pipe.execute)
        now_ms = int(now[0]) * 1000 + int(now[1]) // 1000
        age = max(0.0, (now_ms - float(oldest[0][1])) / 1000) if oldest else 0.0
        return QueueStats(depth=int(depth), waiting=max(0, int(depth) - int(leased)), oldest_seconds=age,
                          dead=int(dead))

    async def adopt_legacy_stream(self) -> int:
        """Upgrade from the earlier layout (one stream ``jobs`` with the consumer group ``workers``): its
        unfinished entries — pending or never delivered — join the lanes, then the stream is deleted. Entries
        acked long ago are dropped with it. Run once by whichever worker gets there first."""
        key = f"{self.prefix}jobs"
        if await self._r.type(key) not in (b"stream", "stream"):
            return 0
        if not await self._r.set(f"{self.prefix}jobs:adopting", "1", nx=True, ex=300):
            return 0
        groups: Any = await self._r.xinfo_groups(key)
        last = as_text(groups[0]["last-delivered-id"]) if groups else "0-0"
        pending: Any = await self._r.xpending_range(key, as_text(groups[0]["name"]), min="-", max="+",
                                                    count=1_000_000) if groups else []
        rows = [row for p in pending for row in await self._r.xrange(key, min=p["message_id"], max=p["message_id"])]
        rows += await self._r.xrange(key, min=f"({last}" if groups else "-", max="+")
        for _id, fields in rows:
            payload = as_text(fields.get(b"job", b""))
            await self._enqueue(args=[self.prefix, _lane_of_payload(payload), payload])
        await self._r.delete(key)
        return len(rows)

    async def dead_letters(self, *, limit: int = 100) -> list[dict[str, str]]:
        rows: Any = await guarded(lambda: self._r.xrevrange(self.dead, count=limit))
        return [{as_text(k): as_text(v) for k, v in fields.items()} for _id, fields in rows]


def _ms(seconds: float) -> int:
    return max(1, int(seconds * 1000))


def _lane_of_payload(payload: str) -> str:
    try:
        return lane(Job.model_validate_json(payload))
    except ValueError:
        return NO_LANE


def run_id_of(payload: str) -> str | None:
    """The run id of a job whose payload may not parse (for logs)."""
    try:
        value = json.loads(payload).get("run_id")
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, str) else None
