"""The Redis usage ledger: atomic reservations under concurrency, capped grants, settling, lapsed holds."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from integrations.redis_usage import RedisUsageLedger


@pytest.fixture
async def ledger() -> AsyncIterator[RedisUsageLedger]:
    client = aioredis.from_url("redis://127.0.0.1:6379/0")
    prefix = f"test:{uuid.uuid4().hex[:8]}:"
    yield RedisUsageLedger(redis=client, prefix=prefix)
    keys = [k async for k in client.scan_iter(match=prefix + "*")]
    if keys:
        await client.delete(*keys)
    await client.aclose()


async def test_concurrent_reservations_never_hold_more_than_the_budget(ledger: RedisUsageLedger) -> None:
    holds = await asyncio.gather(*(ledger.reserve(user="U1", team="T1", tokens=100, at_least=100, user_limit=1000,
                                                  team_limit=10**9, ttl_seconds=60) for _ in range(50)))
    granted = [h for h in holds if h is not None]
    assert len(granted) == 10 and {h.tokens for h in granted} == {100}
    spent = await ledger.spent(user="U1", team="T1")
    assert (spent.user_tokens, spent.user_reserved, spent.team_reserved) == (0, 1000, 1000)


async def test_the_team_limit_binds_every_user_of_the_team(ledger: RedisUsageLedger) -> None:
    first = await ledger.reserve(user="U1", team="T1", tokens=600, at_least=600, user_limit=10**6, team_limit=1000,
                                 ttl_seconds=60)
    second = await ledger.reserve(user="U2", team="T1", tokens=600, at_least=600, user_limit=10**6, team_limit=1000,
                                  ttl_seconds=60)
    assert first is not None and second is None


async def test_what_is_left_is_granted_when_it_is_at_least_the_floor(ledger: RedisUsageLedger) -> None:
    await ledger.reserve(user="U1", team="T1", tokens=850, at_least=850, user_limit=1000, team_limit=None,
                         ttl_seconds=60)
    capped = await ledger.reserve(user="U1", team="T1", tokens=300, at_least=100, user_limit=1000, team_limit=None,
                                  ttl_seconds=60)
    assert capped is not None and capped.tokens == 150
    assert await ledger.reserve(user="U1", team="T1", tokens=300, at_least=1, user_limit=1000, team_limit=None,
                                ttl_seconds=60) is None


async def test_free_holds_are_never_refused_but_count(ledger: RedisUsageLedger) -> None:
    hold = await ledger.reserve(user="U1", team="T1", tokens=500, at_least=500, user_limit=None, team_limit=None,
                                ttl_seconds=60)
    assert hold is not None
    await ledger.settle(hold, tokens=40, cost=0.0)
    assert await ledger.reserve(user="U1", team="T1", tokens=100, at_least=100, user_limit=30, team_limit=None,
                                ttl_seconds=60) is None


async def test_settle_replaces_the_hold_by_real_usage_once(ledger: RedisUsageLedger) -> None:
    hold = await ledger.reserve(user="U1", team="T1", tokens=500, at_least=500, user_limit=1000, team_limit=None,
                                ttl_seconds=60)
    assert hold is not None
    await ledger.settle(hold, tokens=60, cost=0.000018)
    await ledger.settle(hold, tokens=60, cost=0.000018)  # a retried settle counts nothing more
    spent = await ledger.spent(user="U1", team="T1")
    assert (spent.user_tokens, spent.team_tokens, spent.user_reserved, spent.team_reserved) == (60, 60, 0, 0)
    assert spent.user_cost_usd == pytest.approx(0.000018) and spent.team_cost_usd == pytest.approx(0.000018)


async def test_negative_usage_is_refused_and_nothing_decreases(ledger: RedisUsageLedger) -> None:
    hold = await ledger.reserve(user="U1", team="T1", tokens=100, at_least=100, user_limit=1000, team_limit=None,
                                ttl_seconds=60)
    assert hold is not None
    with pytest.raises(ValueError):
        await ledger.settle(hold, tokens=-5_000_000, cost=0.0)
    with pytest.raises(ValueError):
        await ledger.settle(hold, tokens=10, cost=-1.0)
    await ledger.settle(hold, tokens=10, cost=0.0)
    assert (await ledger.spent(user="U1", team="T1")).user_tokens == 10


async def test_a_hold_whose_worker_died_lapses_and_a_late_settle_still_counts(ledger: RedisUsageLedger) -> None:
    dead = await ledger.reserve(user="U1", team="T1", tokens=1000, at_least=1000, user_limit=1000, team_limit=None,
                                ttl_seconds=0.2)
    assert dead is not None
    deadline = time.monotonic() + 20  # polls for the state; the cap only stops a broken test from hanging
    while (fresh := await ledger.reserve(user="U1", team="T1", tokens=400, at_least=400, user_limit=1000,
                                         team_limit=None, ttl_seconds=60)) is None:
        assert time.monotonic() < deadline, "the lapsed hold was never swept"
        await asyncio.sleep(0.05)
    await ledger.settle(dead, tokens=300, cost=0.0)  # the call did happen: its usage counts, its hold is gone
    await ledger.settle(fresh, tokens=0, cost=0.0)
    spent = await ledger.spent(user="U1", team="T1")
    assert (spent.user_tokens, spent.user_reserved) == (300, 0)
