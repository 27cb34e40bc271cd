"""RateLimiter on Redis: token buckets in hashes, checked and taken in one Lua script (all buckets or none).

The script reads Redis' own clock (``TIME``), so every Maple process shares one notion of "now". A bucket's key
expires once it would be full again, so idle users cost nothing.

A take for one start (``once``: a run's id) is counted once: a second delivery of the same placement — a retry
after Redis was lost mid-placement, or two deliveries of one job at the same moment — finds its mark and is
allowed without taking again. The mark is kept for ``ONCE_MS``, far longer than any job's retries.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import redis.asyncio as aioredis

from bot.core.ports import Bucket, RateLimiter, Verdict
from integrations.redis_store import guarded

# KEYS: bucket hashes, then the start's own key when the take is for one start (a run's placement). ARGV:
# capacity, tokens per millisecond — one pair per bucket — then how long that key is kept (ms; "" = no key).
# Returns {1} when a token was taken from every bucket (or was already, for that start), else
# {0, milliseconds to wait, index of that bucket}.
_TAKE = """
local once = nil
if ARGV[#ARGV] ~= '' then
  once = table.remove(KEYS)
  if redis.call('EXISTS', once) == 1 then return {1} end
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local levels, wait, which = {}, 0, 0
for i, key in ipairs(KEYS) do
  local cap, rate = tonumber(ARGV[2 * i - 1]), tonumber(ARGV[2 * i])
  local state = redis.call('HMGET', key, 'tokens', 'ts')
  local tokens, ts = tonumber(state[1]), tonumber(state[2])
  if tokens == nil or ts == nil then tokens, ts = cap, now end
  tokens = math.min(cap, tokens + math.max(0, now - ts) * rate)
  levels[i] = tokens
  if tokens < 1 then
    local need = math.ceil((1 - tokens) / rate)
    if need > wait then wait, which = need, i end
  end
end
if wait > 0 then return {0, wait, which} end
for i, key in ipairs(KEYS) do
  local cap, rate = tonumber(ARGV[2 * i - 1]), tonumber(ARGV[2 * i])
  redis.call('HSET', key, 'tokens', tostring(levels[i] - 1), 'ts', tostring(now))
  redis.call('PEXPIRE', key, math.ceil(cap / rate) + 1000)
end
if once then redis.call('SET', once, '1', 'PX', tonumber(ARGV[#ARGV])) end
return {1}
"""


ONCE_MS = 3_600_000


class RedisRateLimiter(RateLimiter):
    def __init__(self, *, redis: aioredis.Redis, prefix: str = "maple:") -> None:
        self._prefix = prefix
        self._take = redis.register_script(_TAKE)

    async def take(self, buckets: Sequence[Bucket], *, once: str | None = None) -> Verdict:
        if not buckets:
            return Verdict(allowed=True)
        keys = [f"{self._prefix}ratelimit:{b.key}" for b in buckets]
        args: list[Any] = []
        for b in buckets:
            args += [b.capacity, repr(b.capacity / (b.per_seconds * 1000))]
        if once is not None:
            keys.append(f"{self._prefix}ratelimit:counted:{once}")
        args.append(ONCE_MS if once is not None else "")
        result: Any = await guarded(lambda: self._take(keys=keys, args=args))
        if int(result[0]) == 1:
            return Verdict(allowed=True)
        return Verdict(allowed=False, retry_after=int(result[1]) / 1000, scope=buckets[int(result[2]) - 1].scope)
