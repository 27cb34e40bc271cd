"""A worker pool that gives back a job it claimed but never started (shutdown while its claim was on its way):
the job is not charged a delivery, so its own failures still get their ``max_attempts``."""

from __future__ import annotations

import asyncio

import redis.asyncio as aioredis

from bot.core.models import Job
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
