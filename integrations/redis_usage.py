"""UsageLedger on Redis: one hash per user and per team per UTC day, and a sorted set of the holds on it.

The hash keeps ``tokens`` and ``cost_micro_usd`` (settled), ``reserved`` (held by calls in flight) and one
``hold:<id>`` field per hold with its tokens; the sorted set scores each hold id by when it lapses (Redis's own
clock). Reserving and settling are Lua scripts, so checking the room left and holding it is one atomic step for
every worker on every machine, and lapsed holds are swept before each reservation.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

import redis.asyncio as aioredis

from bot.core.ports import Hold, Spending, UsageLedger
from integrations.redis_conn import GroupedScript
from integrations.redis_store import guarded

TTL = 8 * 24 * 3600
LAPSED = "lapsed"  # a swept hold's field keeps this value until it is settled, so a late settle still counts

_SWEEP = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local function sweep(hash, holds)
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', holds, '-inf', now)) do
    local held = redis.call('HGET', hash, 'hold:' .. id)
    if held and held ~= 'lapsed' then
      redis.call('HINCRBY', hash, 'reserved', -tonumber(held))
      redis.call('HSET', hash, 'hold:' .. id, 'lapsed')
    end
  end
  redis.call('ZREMRANGEBYSCORE', holds, '-inf', now)
end
"""

# KEYS: user hash, team hash, user holds, team holds.
# ARGV: hold id, tokens wanted, at least, user limit, team limit (-1: unchecked), hold ms, key ttl s
_RESERVE = _SWEEP + """
sweep(KEYS[1], KEYS[3])
sweep(KEYS[2], KEYS[4])
local function room(hash, limit)
  if limit < 0 then return nil end
  local used = tonumber(redis.call('HGET', hash, 'tokens') or '0') + tonumber(redis.call('HGET', hash, 'reserved') or '0')
  return limit - used
end
local want, least = tonumber(ARGV[2]), tonumber(ARGV[3])
local grant = want
for i, limit in ipairs({tonumber(ARGV[4]), tonumber(ARGV[5])}) do
  local left = room(KEYS[i], limit)
  if left and left < grant then grant = left end
end
if grant < least then return 0 end
for i = 1, 2 do
  redis.call('HINCRBY', KEYS[i], 'reserved', grant)
  redis.call('HSET', KEYS[i], 'hold:' .. ARGV[1], grant)
  redis.call('ZADD', KEYS[i + 2], now + tonumber(ARGV[6]), ARGV[1])
  redis.call('EXPIRE', KEYS[i], ARGV[7])
  redis.call('EXPIRE', KEYS[i + 2], ARGV[7])
end
return grant
"""

# KEYS: as above. ARGV: hold id, tokens used, cost in micro-dollars, key ttl s
_SETTLE = """
local tokens, micro = tonumber(ARGV[2]), tonumber(ARGV[3])
if not tokens or not micro or tokens < 0 or micro < 0 then return redis.error_reply('negative usage') end
local settled = 0
for i = 1, 2 do
  local held = redis.call('HGET', KEYS[i], 'hold:' .. ARGV[1])
  if held then
    if held ~= 'lapsed' then redis.call('HINCRBY', KEYS[i], 'reserved', -tonumber(held)) end
    redis.call('HDEL', KEYS[i], 'hold:' .. ARGV[1])
    redis.call('ZREM', KEYS[i + 2], ARGV[1])
    redis.call('HINCRBY', KEYS[i], 'tokens', tokens)
    redis.call('HINCRBY', KEYS[i], 'cost_micro_usd', micro)
    redis.call('EXPIRE', KEYS[i], ARGV[4])
    settled = 1
  end
end
return settled
"""


class RedisUsageLedger(UsageLedger):
    def __init__(self, *, redis: aioredis.Redis, prefix: str = "maple:") -> None:
        self._r = redis
        self._prefix = prefix
        # Group commit (integrations/redis_conn.py): every model call reserves and settles, so a busy pool's
        # share round trips. A reservation whose caller was cancelled once it was sent still holds its tokens
        # until the hold lapses (``ttl_seconds``) and is swept, as for a worker that died holding it.
        self._reserve = GroupedScript(redis, _RESERVE)
        self._settle = GroupedScript(redis, _SETTLE)

    def _keys(self, user: str, team: str, day: str) -> list[str]:
        base = f"{self._prefix}usage:{day}"
        user_key, team_key = f"{base}:user:{user}", f"{base}:team:{team}"
        return [user_key, team_key, f"{user_key}:holds", f"{team_key}:holds"]

    async def reserve(self, *, user: str, team: str, tokens: int, at_least: int, user_limit: int | None,
                      team_limit: int | None, ttl_seconds: float) -> Hold | None:
        if tokens < 0 or at_least < 0:
            raise ValueError("a reservation cannot be negative")
        day, hold_id = _today(), secrets.token_hex(8)
        args = [hold_id, tokens, min(at_least, tokens), -1 if user_limit is None else user_limit,
                -1 if team_limit is None else team_limit, max(1, int(ttl_seconds * 1000)), TTL]
        granted = int(await guarded(lambda: self._reserve(keys=self._keys(user, team, day), args=args)))
        if granted <= 0 and tokens > 0:
            return None
        return Hold(id=hold_id, user=user, team=team, day=day, tokens=granted)

    async def settle(self, hold: Hold, *, tokens: int, cost: float) -> None:
        if tokens < 0 or not cost >= 0:
            raise ValueError("usage cannot be negative")
        args = [hold.id, tokens, int(round(cost * 1_000_000)), TTL]
        await guarded(lambda: self._settle(keys=self._keys(hold.user, hold.team, hold.day), args=args))

    async def spent(self, *, user: str, team: str) -> Spending:
        user_key, team_key, *_ = self._keys(user, team, _today())

        async def read() -> list[list[bytes | None]]:
            async with self._r.pipeline(transaction=False) as pipe:
                for key in (user_key, team_key):
                    pipe.hmget(key, "tokens", "cost_micro_usd", "reserved")
                return await pipe.execute()  # type: ignore[no-any-return]

        (ut, uc, ur), (tt, tc, tr) = await guarded(read)
        return Spending(user_tokens=int(ut or 0), team_tokens=int(tt or 0), user_cost_usd=int(uc or 0) / 1e6,
                        team_cost_usd=int(tc or 0) / 1e6, user_reserved=int(ur or 0), team_reserved=int(tr or 0))


def _today() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d")
