"""The Redis run store: optimistic writes, atomic enqueue, expiry of run text."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
import redis.asyncio as aioredis

from bot.core.errors import ConflictError, NotFound, StoreUnavailable
from bot.core.models import Effect, Job, Origin, Run
from integrations.redis_queue import RedisJobQueue
from integrations.redis_store import RedisRunStore


def new_run() -> Run:
    now = datetime.now(UTC)
    return Run(requester="U1", origin=Origin(channel="C1"), goal="g", workflow="draft", created_at=now, updated_at=now)


async def test_create_save_conflict_and_job(r: aioredis.Redis) -> None:
    store = RedisRunStore(redis=r, prefix=r.test_prefix, ttl_seconds=3600)  # type: ignore[attr-defined]
    queue = RedisJobQueue(redis=r, prefix=r.test_prefix)  # type: ignore[attr-defined]
    run = await store.create(new_run(), job=Job(run_id="x", kind="draft"))
    assert run.version == 1
    claim = await queue.claim("w", lease=60)  # enqueued with the write, in the requester's lane
    assert claim is not None and Job.model_validate_json(claim.payload) == Job(run_id="x", kind="draft", user="U1")
    assert 0 < await r.ttl(store.run_key(run.id)) <= 3600
    with pytest.raises(ConflictError):
        await store.create(run)
    a, b = await store.get(run.id), await store.get(run.id)
    a.goal = "first"
    await store.save(a)
    b.goal = "second"
    with pytest.raises(ConflictError):
        await store.save(b)
    assert (await store.get(run.id)).goal == "first"
    with pytest.raises(NotFound):
        await store.get("R-NOPE")


async def test_concurrent_saves_one_wins(r: aioredis.Redis) -> None:
    store = RedisRunStore(redis=r, prefix=r.test_prefix)  # type: ignore[attr-defined]
    run = await store.create(new_run())
    results = await asyncio.gather(*(store.save(run, job=Job(run_id=run.id, kind="deliver")) for _ in range(10)),
                                   return_exceptions=True)
    assert sum(not isinstance(x, Exception) for x in results) == 1
    assert await RedisJobQueue(redis=r, prefix=r.test_prefix).depth() == 1  # type: ignore[attr-defined]  # the losers enqueued nothing


async def test_unreachable_redis() -> None:
    client = aioredis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.5)
    store = RedisRunStore(redis=client)
    with pytest.raises(StoreUnavailable):
        await store.create(new_run())
    assert not await store.ping()
    await client.aclose()


async def test_the_thread_index_finds_the_newest_run_of_a_thread(r: aioredis.Redis) -> None:
    store = RedisRunStore(redis=r, prefix=r.test_prefix, ttl_seconds=3600)  # type: ignore[attr-defined]
    threaded = new_run().model_copy(update={"origin": Origin(kind="mention", channel="C1", thread_ts="10.000001")})
    first = await store.create(threaded)
    assert await store.thread_run(channel="C1", thread_ts="10.000001") == first.id
    second = await store.create(threaded.model_copy(update={"id": "R-SECONDRUN000000"}))
    assert await store.thread_run(channel="C1", thread_ts="10.000001") == second.id
    await store.save(first)  # a later write of the older run does not take the thread back
    assert await store.thread_run(channel="C1", thread_ts="10.000001") == second.id
    assert await store.thread_run(channel="C2", thread_ts="10.000001") is None
    assert await store.thread_run(channel="C1", thread_ts="11.000001") is None
    assert 0 < await r.ttl(f"{r.test_prefix}thread:C1:10.000001") <= 3600  # type: ignore[attr-defined]


async def test_since_with_a_limit_keeps_the_newest_runs(r: aioredis.Redis) -> None:
    """Past ``limit`` runs in the window, the newest are the ones read (App Home's *waiting for my review*, a bare
    ``/maple status``, the CLI's list): the oldest ``limit`` would hide every new run once a busy week — or one
    person's burst of runs — passed the limit. Returned oldest first."""
    from datetime import timedelta

    store = RedisRunStore(redis=r, prefix=r.test_prefix)  # type: ignore[attr-defined]
    start = datetime.now(UTC) - timedelta(hours=1)
    ids = []
    for minute in range(6):
        at = start + timedelta(minutes=minute)
        run = Run(requester="U1", origin=Origin(channel="C1"), goal=f"g{minute}", workflow="draft", created_at=at,
                  updated_at=at)
        ids.append((await store.create(run)).id)
    got = await store.since(start, limit=3)
    assert [x.id for x in got] == ids[3:]
    assert [x.id for x in await store.since(start)] == ids
async def test_the_threads_of_a_runs_answers_are_indexed_in_the_write_that_records_them(r: aioredis.Redis) -> None:
    store = RedisRunStore(redis=r, prefix=r.test_prefix)  # type: ignore[attr-defined]
    run = await store.create(new_run())
    assert run.answer_threads() == []
    run.effects["result"] = Effect(channel="C9", ts="20.000001")  # claimed, not posted: no thread yet
    run = await store.save(run)
    assert await store.thread_run(channel="C9", thread_ts="20.000001") is None
    run.effects["result"] = Effect(channel="C9", ts="20.000001", done=True)
    run = await store.save(run)
    assert await store.thread_run(channel="C9", thread_ts="20.000001") == run.id
    other = await store.create(new_run().model_copy(update={"id": "R-OTHERRUN0000000"}))
    other.effects["result"] = Effect(channel="C9", ts="20.000001", done=True)
    await store.save(other)  # a thread already taken is not taken over
    assert await store.thread_run(channel="C9", thread_ts="20.000001") == run.id
    assert await store.erase(run.id)
    assert await store.thread_run(channel="C9", thread_ts="20.000001") == run.id  # purged: still said to be its
