"""The Redis rate limiter: token buckets taken atomically (all or none), shared by every process."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from bot.core.ports import Bucket
from integrations.redis_limits import RedisRateLimiter


@pytest.fixture
async def limiter() -> AsyncIterator[tuple[RedisRateLimiter, RedisRateLimiter, str]]:
    prefix = f"test:{uuid.uuid4().hex[:10]}:"
    one, two = aioredis.from_url("redis://127.0.0.1:6379/0"), aioredis.from_url("redis://127.0.0.1:6379/0")
    yield RedisRateLimiter(redis=one, prefix=prefix), RedisRateLimiter(redis=two, prefix=prefix), prefix
    keys = [k async for k in one.scan_iter(match=prefix + "*")]
    if keys:
        await one.delete(*keys)
    await one.aclose()
    await two.aclose()


async def test_concurrent_takes_from_two_processes_never_exceed_the_capacity(limiter) -> None:  # type: ignore[no-untyped-def]
    a, b, _ = limiter
    bucket = Bucket(key="user:U1", capacity=10, per_seconds=3600)
    verdicts = await asyncio.gather(*(x.take([bucket]) for _ in range(50) for x in (a, b)))
    assert sum(v.allowed for v in verdicts) == 10
    refused = [v for v in verdicts if not v.allowed]
    assert all(v.scope == "" and 0 < v.retry_after <= 360 for v in refused)


async def test_all_buckets_or_none(limiter) -> None:  # type: ignore[no-untyped-def]
    a, _, _ = limiter
    user = Bucket(key="user:U1", capacity=5, per_seconds=3600, scope="user")
    team = Bucket(key="team:T1", capacity=2, per_seconds=3600, scope="team")
    verdicts = [await a.take([user, team]) for _ in range(3)]
    assert [v.allowed for v in verdicts] == [True, True, False] and verdicts[2].scope == "team"
    alone = [await a.take([user]) for _ in range(4)]
    assert [v.allowed for v in alone] == [True, True, True, False], "the refused take took nothing from the user"


async def test_tokens_come_back_and_idle_buckets_expire(limiter) -> None:  # type: ignore[no-untyped-def]
    a, _, prefix = limiter
    bucket = Bucket(key="user:U2", capacity=2, per_seconds=0.4)
    assert [(await a.take([bucket])).allowed for _ in range(3)] == [True, True, False]
    deadline = asyncio.get_running_loop().time() + 30
    while not (await a.take([bucket])).allowed:
        assert asyncio.get_running_loop().time() < deadline, "the bucket never refilled"
        await asyncio.sleep(0.05)
    r = aioredis.from_url("redis://127.0.0.1:6379/0")
    try:
        assert 0 < await r.pttl(f"{prefix}ratelimit:user:U2") <= 1400
    finally:
        await r.aclose()


async def test_a_start_is_counted_once_however_many_takes_name_it(limiter) -> None:  # type: ignore[no-untyped-def]
    """Two deliveries of one placement (from two processes, at the same moment), and a retry after, take one token
    between them; another start still takes its own, and finds the bucket empty."""
    a, b, _ = limiter
    bucket = Bucket(key="user:U1", capacity=2, per_seconds=3600, scope="user")
    together = await asyncio.gather(*(x.take([bucket], once="R-ONE") for _ in range(5) for x in (a, b)))
    assert all(v.allowed for v in together)
    assert (await a.take([bucket], once="R-ONE")).allowed  # a retry of that start
    assert (await b.take([bucket], once="R-TWO")).allowed  # the second token
    refused = await a.take([bucket], once="R-THREE")
    assert not refused.allowed and refused.scope == "user"
    assert not (await a.take([bucket], once="R-THREE")).allowed  # a refused start was not marked counted
