"""Group commit of a hot script (integrations/redis_conn.py ``GroupedScript``), against the real Redis: calls made
while one is on the wire share a pipelined round trip, run in the order they were made, and each keeps its own
result or error; a flushed script cache, a caller that gives up and an unreachable Redis lose nothing else."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import redis.asyncio as aioredis
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from bot.core.errors import StoreUnavailable
from bot.core.models import Job
from integrations.redis_conn import GROUP_MAX, GroupedScript, guarded
from integrations.redis_deliveries import RedisDeliveries
from integrations.redis_queue import RedisJobQueue
from integrations.redis_usage import RedisUsageLedger

# Appends ARGV[1] to the list KEYS[1] and answers its place; 'bad' is an error of that call alone.
PUSH = """
if ARGV[1] == 'bad' then return redis.error_reply('refused: ' .. ARGV[1]) end
return redis.call('RPUSH', KEYS[1], ARGV[1])
"""


def counting_round_trips(r: aioredis.Redis, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many times the client takes a connection from its pool: once per round trip, grouped or not."""
    taken: list[int] = []
    pool = r.connection_pool
    real = pool.get_connection

    async def get_connection(*args: Any, **kwargs: Any) -> Any:
        taken.append(1)
        return await real(*args, **kwargs)

    monkeypatch.setattr(pool, "get_connection", get_connection)
    return taken


async def test_calls_made_together_share_a_round_trip_in_their_order(r: aioredis.Redis,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    key = f"{r.test_prefix}list"  # type: ignore[attr-defined]
    script = GroupedScript(r, PUSH)
    assert await script(keys=[key], args=["alone"]) == 1  # a call alone is sent as it is (and loads the script)
    taken = counting_round_trips(r, monkeypatch)
    places = await asyncio.gather(*(script(keys=[key], args=[f"v{i}"]) for i in range(20)))
    assert places == list(range(2, 22))  # each call its own answer, run in the order the calls were made
    assert [v.decode() for v in await r.lrange(key, 0, -1)] == ["alone", *(f"v{i}" for i in range(20))]
    assert len(taken) == 2  # twenty calls in one round trip (and the LRANGE)
    places = await asyncio.gather(*(script(keys=[key], args=["more"]) for _ in range(GROUP_MAX + 1)))
    assert places == list(range(22, 22 + GROUP_MAX + 1)) and len(taken) == 4  # past GROUP_MAX: another round trip


async def test_one_call_failing_fails_only_itself(r: aioredis.Redis) -> None:
    key = f"{r.test_prefix}list"  # type: ignore[attr-defined]
    script = GroupedScript(r, PUSH)
    results = await asyncio.gather(*(script(keys=[key], args=[v]) for v in ["a", "bad", "c"]), return_exceptions=True)
    assert results[0] == 1 and results[2] == 2
    assert isinstance(results[1], ResponseError) and "refused: bad" in str(results[1])
    assert [v.decode() for v in await r.lrange(key, 0, -1)] == ["a", "c"]


async def test_a_flushed_script_cache_is_recovered_alone_and_in_a_group(r: aioredis.Redis) -> None:
    """Redis restarted (or SCRIPT FLUSH): its scripts are gone; the pipelined calls answer NOSCRIPT, and each is run
    again by itself, in order, so none is lost and none runs twice."""
    key = f"{r.test_prefix}list"  # type: ignore[attr-defined]
    script = GroupedScript(r, PUSH)
    assert await script(keys=[key], args=["first"]) == 1
    await r.script_flush()
    assert await script(keys=[key], args=["alone"]) == 2
    await r.script_flush()
    assert await asyncio.gather(*(script(keys=[key], args=[f"v{i}"]) for i in range(5))) == [3, 4, 5, 6, 7]
    assert await r.llen(key) == 7


async def test_a_caller_that_gives_up_before_its_call_is_sent_sends_nothing(r: aioredis.Redis) -> None:
    key = f"{r.test_prefix}list"  # type: ignore[attr-defined]
    script = GroupedScript(r, PUSH)
    calls = [asyncio.create_task(script(keys=[key], args=[f"v{i}"])) for i in range(3)]
    await asyncio.sleep(0)  # every call is queued; none is on the wire yet
    calls[1].cancel()
    results = await asyncio.gather(*calls, return_exceptions=True)
    assert results[0] == 1 and results[2] == 2 and isinstance(results[1], asyncio.CancelledError)
    assert [v.decode() for v in await r.lrange(key, 0, -1)] == ["v0", "v2"]


async def test_a_caller_that_gives_up_after_its_call_was_sent_leaves_the_others_answered(r: aioredis.Redis) -> None:
    """A call already on the wire runs (a write cut off by its caller may or may not have happened, as for any
    call), and the calls grouped with it get their answers."""
    key = f"{r.test_prefix}list"  # type: ignore[attr-defined]
    script = GroupedScript(r, PUSH)
    calls = [asyncio.create_task(script(keys=[key], args=[f"v{i}"])) for i in range(3)]
    while script._pending or script._sender is None:  # the sender has taken the three: they are being sent
        await asyncio.sleep(0)
    calls[1].cancel()
    results = await asyncio.gather(*calls, return_exceptions=True)
    assert results[0] == 1 and results[2] == 3 and isinstance(results[1], asyncio.CancelledError)
    assert await r.llen(key) == 3
    assert await script(keys=[key], args=["later"]) == 4  # the script is ready for the next call


async def test_an_unreachable_redis_fails_each_grouped_call_clearly() -> None:
    client = aioredis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.5)
    script = GroupedScript(client, PUSH)
    results = await asyncio.gather(*(guarded(lambda: script(keys=["k"], args=["v"])) for _ in range(4)),
                                   return_exceptions=True)
    assert all(isinstance(x, StoreUnavailable) for x in results)
    await client.aclose()


# As PUSH, but 'slow' first keeps the server busy ~0.6 s: its reply comes after a 0.3 s socket timeout.
SLOW_PUSH = """
if ARGV[1] == 'slow' then
  local t = redis.call('TIME')
  local start = tonumber(t[1]) * 1000000 + tonumber(t[2])
  repeat local n = redis.call('TIME') until tonumber(n[1]) * 1000000 + tonumber(n[2]) - start > 600000
end
return redis.call('RPUSH', KEYS[1], ARGV[1])
"""


async def test_a_round_trip_cut_off_fails_each_of_its_calls_and_the_next_one_works(r: aioredis.Redis) -> None:
    """One call in a round trip keeps the server past the client's socket timeout: Redis sends the round trip's
    replies together, so every call in it fails clearly (here each write did happen — the caller cannot know);
    the next call takes a new connection."""
    key = f"{r.test_prefix}list"  # type: ignore[attr-defined]
    client = aioredis.from_url("redis://127.0.0.1:6379/0", socket_timeout=0.3)
    script = GroupedScript(client, SLOW_PUSH)
    try:
        await script(keys=[key], args=["warm"])
        results = await asyncio.gather(*(script(keys=[key], args=[v]) for v in ["a", "b", "slow", "c"]),
                                       return_exceptions=True)
        assert all(isinstance(x, RedisTimeoutError) for x in results), results
        assert await script(keys=[key], args=["after"]) == 6
    finally:
        await client.aclose()
    assert [v.decode() for v in await r.lrange(key, 0, -1)] == ["warm", "a", "b", "slow", "c", "after"]


async def test_concurrent_claims_and_acks_take_each_job_once_in_few_round_trips(r: aioredis.Redis,
                                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """The queue's scripts are grouped: twenty workers claiming at once share a round trip, and still each job goes
    to exactly one of them, each with its own fencing token; their acks share another."""
    q = RedisJobQueue(redis=r, prefix=r.test_prefix)  # type: ignore[attr-defined]
    await q.enqueue(Job(run_id="R-warm", kind="draft", user="U0"))  # each script alone first (loads it)
    warm = await q.claim("warm", lease=30)
    assert warm is not None and await q.ack(warm)
    await asyncio.gather(*(q.enqueue(Job(run_id=f"R-{i}", kind="draft", user=f"U{i % 3}")) for i in range(20)))
    taken = counting_round_trips(r, monkeypatch)
    claims = await asyncio.gather(*(q.claim(f"w{i}", lease=30) for i in range(20)))
    assert all(c is not None for c in claims)
    jobs = sorted(Job.model_validate_json(c.payload).run_id for c in claims if c is not None)
    assert jobs == sorted(f"R-{i}" for i in range(20))  # every job claimed, none twice
    assert len({c.id for c in claims if c is not None}) == 20 and {c.tries for c in claims if c is not None} == {1}
    assert await q.claim("late", lease=30) is None  # nothing left over, nothing leased twice
    acks = await asyncio.gather(*(q.ack(c) for c in claims if c is not None))
    assert acks == [True] * 20
    assert len(taken) <= 4, taken  # 41 calls: the 20 claims, the late claim, the 20 acks
    assert await q.depth() == 0 and await r.hlen(f"{r.test_prefix}jobs:owner") == 0  # type: ignore[attr-defined]


async def test_concurrent_reservations_and_settlements_keep_exact_totals(r: aioredis.Redis,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Forty model calls reserve at once against a 1,500-token budget: exactly fifteen are granted, in shared
    round trips; their settlements, made at once too, add up exactly and free every hold."""
    ledger = RedisUsageLedger(redis=r, prefix=r.test_prefix)  # type: ignore[attr-defined]

    def reserve() -> Any:
        return ledger.reserve(user="U1", team="T1", tokens=100, at_least=100, user_limit=1500, team_limit=10**9,
                              ttl_seconds=60)

    warm = await reserve()
    assert warm is not None
    await ledger.settle(warm, tokens=0, cost=0)
    taken = counting_round_trips(r, monkeypatch)
    holds = await asyncio.gather(*(reserve() for _ in range(40)))
    granted = [h for h in holds if h is not None]
    assert len(granted) == 15 and {h.tokens for h in granted} == {100}
    spent = await ledger.spent(user="U1", team="T1")
    assert (spent.user_tokens, spent.user_reserved, spent.team_reserved) == (0, 1500, 1500)
    await asyncio.gather(*(ledger.settle(h, tokens=60 + i, cost=0.001) for i, h in enumerate(granted)))
    spent = await ledger.spent(user="U1", team="T1")
    used = sum(60 + i for i in range(15))
    assert (spent.user_tokens, spent.team_tokens, spent.user_reserved, spent.team_reserved) == (used, used, 0, 0)
    assert round(spent.user_cost_usd, 6) == round(spent.team_cost_usd, 6) == 0.015
    assert len(taken) <= 8, taken  # 55 calls (and two reads): 57 round trips one by one


async def test_concurrent_deliveries_of_one_event_admit_exactly_one(r: aioredis.Redis) -> None:
    deliveries = RedisDeliveries(redis=r, prefix=r.test_prefix)  # type: ignore[attr-defined]
    states = await asyncio.gather(*(deliveries.claim("Ev1") for _ in range(10)))
    assert sorted(s for s, _token in states) == ["in_flight"] * 9 + ["new"]
    token = next(t for s, t in states if s == "new")
    await asyncio.gather(deliveries.settle("Ev1", token), *(deliveries.settle("Ev1", "claim:other") for _ in range(3)))
    assert await deliveries.claim("Ev1") == ("done", "")
