"""Grouped scripts at their edges: a worker pool that gives back a job it claimed but never started (shutdown while
its claim was on its way) does not charge it a delivery, so its own failures still get their ``max_attempts``; and a
call whose caller gave up while it waited for a free connection (the pool exhausted) is never sent — a claim then
takes nothing, rather than leasing a job to a pool that is gone."""

from __future__ import annotations

import asyncio

import redis.asyncio as aioredis
from redis.asyncio.connection import BlockingConnectionPool

from bot.core.models import Job
from integrations.redis_conn import GroupedScript
from integrations.redis_queue import RedisJobQueue
from integrations.worker_pool import WorkerPool


async def test_a_job_given_back_unstarted_at_shutdown_does_not_count_as_a_failed_attempt(r: aioredis.Redis) -> None:
    q = RedisJobQueue(redis=r, prefix=r.test_prefix)  # type: ignore[attr-defined]
    await q.enqueue(Job(run_id="R-1", kind="draft", user="U1"))
    started: list[str] = []

    async def handle(j: Job) -> None:
        started.append(j.run_id)

    async def nothing(j: Job, why: str) -> None:
        raise AssertionError(why)

    for _ in range(2):  # two shutdowns, each while the pool's claim was on its way
        pool = WorkerPool(queue=q, consumer="a", handler=handle, on_dead=nothing, concurrency=1,
                          visibility_timeout=60)
        async with asyncio.timeout(5):
            while q._claim._sender is not None:  # the previous claim's round trip is over
                await asyncio.sleep(0)
        await asyncio.sleep(0.05)  # a job given back "at once" is claimable a millisecond later
        task = asyncio.create_task(pool.run())
        async with asyncio.timeout(5):
            while q._claim._sender is None or q._claim._pending:
                await asyncio.sleep(0)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert not started
    dead: list[str] = []
    failed = asyncio.Event()

    async def flaky(j: Job) -> None:
        if not failed.is_set():
            failed.set()
            raise ValueError("the job's own first failure")
        started.append(j.run_id)

    async def record(j: Job, why: str) -> None:
        dead.append(why)

    pool = WorkerPool(queue=q, consumer="c", handler=flaky, on_dead=record, concurrency=1, visibility_timeout=60,
                      max_attempts=3)
    task = asyncio.create_task(pool.run())
    try:
        async with asyncio.timeout(10):
            while not started and not dead:
                await asyncio.sleep(0.02)
    finally:
        await pool.stop(grace=1)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert not dead and started == ["R-1"], (dead, started)  # one failure of three allowed, then it ran


PUSH = "return redis.call('RPUSH', KEYS[1], ARGV[1])"


def one_connection() -> aioredis.Redis:
    return aioredis.Redis(connection_pool=BlockingConnectionPool.from_url("redis://127.0.0.1:6379/0",
                                                                          max_connections=1, timeout=10))


async def test_a_call_given_up_while_it_waits_for_a_connection_is_never_sent(r: aioredis.Redis) -> None:
    key = f"{r.test_prefix}list"  # type: ignore[attr-defined]
    client = one_connection()
    script = GroupedScript(client, PUSH)
    try:
        busy = asyncio.create_task(client.blpop([f"{r.test_prefix}nothing"], timeout=1))  # the only connection
        await asyncio.sleep(0.1)
        call = asyncio.create_task(script(keys=[key], args=["given up"]))
        await asyncio.sleep(0.1)  # the sender waits for the connection the BLPOP holds
        assert script._sender is not None and script._pending
        call.cancel()
        await asyncio.gather(call, busy, return_exceptions=True)
        async with asyncio.timeout(5):
            while script._sender is not None:
                await asyncio.sleep(0.01)
        assert await r.llen(key) == 0  # not sent
        assert await script(keys=[key], args=["later"]) == 1  # and the script goes on
    finally:
        await client.aclose()


async def test_a_pool_cancelled_while_its_claim_waits_for_a_connection_leaves_the_job_free(r: aioredis.Redis) -> None:
    client = one_connection()
    q = RedisJobQueue(redis=client, prefix=r.test_prefix)  # type: ignore[attr-defined]
    try:
        await q.enqueue(Job(run_id="R-1", kind="draft", user="U1"))
        busy = asyncio.create_task(client.blpop([f"{r.test_prefix}nothing"], timeout=3))  # outlasts the 2 s grace
        await asyncio.sleep(0.1)

        async def nothing(j: Job, why: str) -> None:
            raise AssertionError(why)

        pool = WorkerPool(queue=q, consumer="a", handler=lambda j: asyncio.sleep(0), on_dead=nothing, concurrency=1,
                          visibility_timeout=60)
        pool._adopt = lambda: asyncio.sleep(0)  # type: ignore[method-assign]
        task = asyncio.create_task(pool.run())
        await asyncio.sleep(0.1)
        assert q._claim._sender is not None and q._claim._pending  # the claim waits for the connection
        task.cancel()
        await asyncio.gather(task, busy, return_exceptions=True)
        async with asyncio.timeout(5):
            while q._claim._sender is not None:
                await asyncio.sleep(0.01)
        other = await RedisJobQueue(redis=r, prefix=r.test_prefix).claim("b", lease=30)  # type: ignore[attr-defined]
        assert other is not None and other.tries == 1  # free at once, never charged a delivery
    finally:
        await client.aclose()
