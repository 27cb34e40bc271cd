"""UsageLedger on Redis: one hash per user and per team per UTC day (tokens, cost in micro-dollars)."""

from __future__ import annotations

from datetime import UTC, datetime

import redis.asyncio as aioredis

from bot.core.ports import UsageLedger
from integrations.redis_store import guarded

TTL = 8 * 24 * 3600


class RedisUsageLedger(UsageLedger):
    def __init__(self, *, redis: aioredis.Redis, prefix: str = "maple:") -> None:
        self._r = redis
        self._prefix = prefix

    def _keys(self, user: str, team: str) -> tuple[str, str]:
        day = datetime.now(UTC).strftime("%Y-%m-%d")
        return f"{self._prefix}usage:{day}:user:{user}", f"{self._prefix}usage:{day}:team:{team}"

    async def add(self, *, user: str, team: str, tokens: int, cost: float) -> None:
        micro = int(round(cost * 1_000_000))
        async def write() -> None:
            async with self._r.pipeline(transaction=True) as pipe:
                for key in self._keys(user, team):
                    pipe.hincrby(key, "tokens", tokens).hincrby(key, "cost_micro_usd", micro).expire(key, TTL)
                await pipe.execute()
        await guarded(write)

    async def spent(self, *, user: str, team: str) -> tuple[int, int]:
        user_key, team_key = self._keys(user, team)
        async def read() -> tuple[int, int]:
            async with self._r.pipeline(transaction=False) as pipe:
                pipe.hget(user_key, "tokens").hget(team_key, "tokens")
                u, t = await pipe.execute()
            return int(u or 0), int(t or 0)
        return await guarded(read)
