"""Group commit of a hot script (integrations/redis_conn.py ``GroupedScript``), against the real Redis: calls made
while one is on the wire share a pipelined round trip, run in the order they were made, and each keeps its own
result or error; a flushed script cache, a caller that gives up and an unreachable Redis lose nothing else."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import redis.asyncio as aioredis
from redis.exceptions import ResponseError

from bot.core.errors import StoreUnavailable
from integrations.redis_conn import GroupedScript, guarded

# Appends ARGV[1] to the list KEYS[1] and answers its place; 'bad' is an error of that call alone.
PUSH = """
if ARGV[1] == 'bad' then return redis.error_reply('refused: ' .. ARGV[1]) end
return redis.call('RPUSH', KEYS[1], ARGV[1])
"""


def counting_pipelines(r: aioredis.Redis, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many pipelines the client opened (one per grouped round trip)."""
    opened: list[int] = []
    real = r.pipeline

    def pipeline(*args: Any, **kwargs: Any) -> Any:
        opened.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(r, "pipeline", pipeline)
    return opened


async def test_calls_made_together_share_a_round_trip_in_their_order(r: aioredis.Redis,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    key = f"{r.test_prefix}list"  # type: ignore[attr-defined]
    script = GroupedScript(r, PUSH)
    opened = counting_pipelines(r, monkeypatch)
    assert await script(keys=[key], args=["alone"]) == 1 and opened == []  # a call alone is sent as it is
    places = await asyncio.gather(*(script(keys=[key], args=[f"v{i}"]) for i in range(20)))
    assert places == list(range(2, 22))  # each call its own answer, run in the order the calls were made
    assert [v.decode() for v in await r.lrange(key, 0, -1)] == ["alone", *(f"v{i}" for i in range(20))]
    assert len(opened) == 1  # twenty calls, one round trip


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


async def test_a_caller_that_gives_up_leaves_the_others_answered(r: aioredis.Redis) -> None:
    """A cancelled caller's call was sent, or is about to be: it still runs (a write cut off on the wire may or may
    not have happened), and the calls grouped with it get their answers."""
    key = f"{r.test_prefix}list"  # type: ignore[attr-defined]
    script = GroupedScript(r, PUSH)
    calls = [asyncio.create_task(script(keys=[key], args=[f"v{i}"])) for i in range(3)]
    await asyncio.sleep(0)  # every call is waiting on its answer
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
