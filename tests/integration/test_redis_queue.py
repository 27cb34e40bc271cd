"""The work queue on real Redis: leases, fencing, retries and dead letters, trimming, fairness, delayed jobs."""

from __future__ import annotations

import asyncio
import inspect
import os
import signal
import subprocess
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import redis.asyncio as aioredis

from bot.core.models import Job
from integrations.redis_queue import PRELUDE, RedisJobQueue
from integrations.worker_pool import WorkerPool, consumer_prefix

URL = "redis://127.0.0.1:6379/0"


def queue_of(r: aioredis.Redis, **kw: int) -> RedisJobQueue:
    return RedisJobQueue(redis=r, prefix=r.test_prefix, **kw)  # type: ignore[attr-defined]


async def until(check: Callable[[], object], *, what: str, cap: float = 15.0) -> Any:
    """Poll ``check`` (sync or async) until it is truthy; the cap only stops a broken test from hanging."""
    try:
        async with asyncio.timeout(cap):
            while True:
                value = check()
                if inspect.isawaitable(value):
                    value = await value
                if value:
                    return value
                await asyncio.sleep(0.02)
    except TimeoutError:
        raise AssertionError(f"timed out waiting for {what}") from None


async def nothing(job: Job, why: str) -> None:
    raise AssertionError(f"nothing should be dead-lettered: {job} {why}")


def job(n: int, user: str = "U1") -> Job:
    return Job(run_id=f"R-{n}", kind="draft", user=user)


async def test_a_pool_claims_only_what_it_can_run_now(r: aioredis.Redis) -> None:
    q = queue_of(r)
    started: dict[str, str] = {}
    hold = asyncio.Event()

    def handler(name: str) -> Callable[[Job], Awaitable[None]]:
        async def handle(j: Job) -> None:
            started[j.run_id] = name
            await hold.wait()
        return handle

    for n in (1, 2):
        await q.enqueue(job(n))
    a = WorkerPool(queue=q, consumer="a", handler=handler("a"), on_dead=nothing, concurrency=1,
                   visibility_timeout=30)
    b = WorkerPool(queue=q, consumer="b", handler=handler("b"), on_dead=nothing, concurrency=1,
                   visibility_timeout=30)
    tasks = [asyncio.create_task(a.run())]
    await until(lambda: "R-1" in started, what="the first job to start")
    await asyncio.sleep(0.3)  # a pool that reads ahead would have taken R-2 by now
    tasks.append(asyncio.create_task(b.run()))
    await until(lambda: "R-2" in started, what="the second job to start on the idle pool")
    assert started == {"R-1": "a", "R-2": "b"}
    hold.set()
    await until(lambda: _empty(q), what="both jobs acked")
    await asyncio.gather(a.stop(grace=5), b.stop(grace=5))
    for t in tasks:
        t.cancel()


async def test_a_pool_cancelled_while_its_claim_is_on_its_way_gives_the_job_back(r: aioredis.Redis) -> None:
    """Shutdown cancels the pool's task while its claim is on the wire: the claim runs all the same, and the pool
    waits for it and releases the job, instead of leaving it leased to nobody for a whole visibility timeout."""
    q = queue_of(r)
    await q.enqueue(job(1))
    started: list[str] = []

    async def handle(j: Job) -> None:
        started.append(j.run_id)

    pool = WorkerPool(queue=q, consumer="a", handler=handle, on_dead=nothing, concurrency=1, visibility_timeout=60)
    task = asyncio.create_task(pool.run())
    async with asyncio.timeout(5):
        while q._claim._sender is None or q._claim._pending:  # the claim has been taken to be sent
            await asyncio.sleep(0)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert not started
    again = await until(lambda: q.claim("b", lease=30), what="the job given back", cap=5)  # not after its 60 s lease
    assert again is not None and again.tries == 1 and Job.model_validate_json(again.payload).run_id == "R-1"
    assert await q.ack(again)


async def _empty(q: RedisJobQueue) -> bool:
    return await q.depth() == 0


async def test_renewal_is_fenced_to_the_current_owner(r: aioredis.Redis) -> None:
    q = queue_of(r)
    await q.enqueue(job(1))
    first = await q.claim("a", lease=0.2)
    assert first is not None and first.tries == 1
    assert await q.claim("b", lease=30) is None  # a live lease is never taken
    second = await until(lambda: q.claim("b", lease=30), what="the expired lease to be taken over")
    assert second.tries == 2
    assert not await q.renew(first, lease=30)  # the old owner cannot take it back…
    assert not await q.ack(first)  # …nor ack it…
    assert not await q.release(first, delay=0) and not await q.bury(first, why="x")  # …nor give it away
    assert await q.renew(second, lease=30)
    assert await q.ack(second)
    assert await q.depth() == 0


async def test_a_worker_that_lost_its_lease_stops_the_job(r: aioredis.Redis) -> None:
    """A worker frozen past its lease (SIGSTOP: a stalled process) finds, when it resumes, that another worker
    took the job over — and cancels its own run of it instead of racing the new owner."""
    q = queue_of(r)
    log = f"{r.test_prefix}log"  # type: ignore[attr-defined]
    await q.enqueue(Job(run_id="R-1-20000", kind="draft"))
    proc = subprocess.Popen([sys.executable, "-m", "tests.integration.queue_worker", URL, r.test_prefix,  # type: ignore[attr-defined]
                             "1", "1", "0.5"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        await until(lambda: _logged(r, log, "start R-1-20000"), what="the worker to start the job")
        os.kill(proc.pid, signal.SIGSTOP)
        thief = await until(lambda: q.claim("thief", lease=60), what="a takeover of the frozen worker's job")
        os.kill(proc.pid, signal.SIGCONT)
        await until(lambda: _logged(r, log, "cancelled R-1-20000"), what="the old owner to stop")
        events = [e.decode() for e in await r.lrange(log, 0, -1)]
        assert not [e for e in events if e.startswith("end ")]
        assert any(e.startswith("lost ") for e in events)
        assert await q.ack(thief)  # the new owner was never disturbed
        assert await r.hlen(f"{r.test_prefix}jobs:owner") == 0  # type: ignore[attr-defined]  # no trace of either consumer
    finally:
        proc.kill()
        proc.wait()


async def _logged(r: aioredis.Redis, key: str, event: str) -> bool:
    return any(e.decode().startswith(event + " ") for e in await r.lrange(key, 0, -1))


async def test_handler_failures_are_retried_then_dead_lettered(r: aioredis.Redis) -> None:
    """A validation error inside a handler is a failure like any other, not a "malformed job"."""
    q = queue_of(r)
    calls: list[str] = []
    dead: list[tuple[str, str]] = []

    async def handle(j: Job) -> None:
        calls.append(j.run_id)
        Job.model_validate({})  # raises pydantic's ValidationError, a ValueError

    async def on_dead(j: Job, why: str) -> None:
        dead.append((j.run_id, why))

    await q.enqueue(job(1))
    pool = WorkerPool(queue=q, consumer="a", handler=handle, on_dead=on_dead, concurrency=1,
                      visibility_timeout=0.2, max_attempts=2)
    task = asyncio.create_task(pool.run())
    await until(lambda: dead, what="the requester to be told")
    await pool.stop(grace=1)
    task.cancel()
    assert calls == ["R-1", "R-1"] and dead == [("R-1", "failed 2 times: ValidationError")]
    rows = await q.dead_letters()
    assert len(rows) == 1 and "R-1" in rows[0]["job"] and rows[0]["why"].startswith("failed 2 times")
    assert await q.depth() == 0


async def test_failures_that_are_not_the_jobs_do_not_count_towards_dead_letters(r: aioredis.Redis) -> None:
    """Redis unreachable, Slack rate-limiting past the client's retries, a side effect claimed by a cut-off delivery
    (a Redis restart mid-run): retried past
    ``max_attempts`` without dead-lettering, and the job still runs to the end."""
    from bot.core.errors import EffectInProgress, StoreUnavailable, SurfaceUnavailable

    q = queue_of(r)
    outcomes: list[BaseException | None] = [StoreUnavailable("down"), EffectInProgress("claimed"),
                                            SurfaceUnavailable("rate limited"), EffectInProgress("claimed"), None]
    calls: list[str] = []

    async def handle(j: Job) -> None:
        calls.append(j.run_id)
        error = outcomes.pop(0)
        if error is not None:
            raise error

    await q.enqueue(job(1))
    pool = WorkerPool(queue=q, consumer="a", handler=handle, on_dead=nothing, concurrency=1,
                      visibility_timeout=0.2, max_attempts=2)
    task = asyncio.create_task(pool.run())
    await until(lambda: not outcomes, what="five deliveries")
    await until(lambda: _depth_zero(q), what="the job to be acked")
    await pool.stop(grace=1)
    task.cancel()
    assert calls == ["R-1"] * 5 and await q.dead_letters() == []


async def _depth_zero(q: RedisJobQueue) -> bool:
    return await q.depth() == 0


async def test_a_malformed_payload_is_dead_lettered_with_its_reason(r: aioredis.Redis) -> None:
    q = queue_of(r)
    await r.eval(PRELUDE + "return push(ARGV[2], ARGV[3])", 0, r.test_prefix, "-", '{"run_id": "R-X"}')  # type: ignore[attr-defined]
    seen: list[Job] = []

    async def handle(j: Job) -> None:
        seen.append(j)

    pool = WorkerPool(queue=q, consumer="a", handler=handle, on_dead=nothing, concurrency=1, visibility_timeout=5)
    task = asyncio.create_task(pool.run())
    await until(lambda: q.dead_letters(), what="the malformed job in the dead letters")
    await pool.stop(grace=1)
    task.cancel()
    [row] = await q.dead_letters()
    assert not seen and row["why"] == "malformed job payload: kind: Field required"
    assert await q.depth() == 0


async def test_finished_jobs_leave_nothing_and_dead_letters_are_capped(r: aioredis.Redis) -> None:
    q = queue_of(r, dead_max=10)
    done: list[str] = []

    async def handle(j: Job) -> None:
        done.append(j.run_id)

    for n in range(60):
        await q.enqueue(job(n, user=f"U{n % 3}"))
    for _ in range(25):
        await r.eval(PRELUDE + "return push(ARGV[2], ARGV[3])", 0, r.test_prefix, "-", "not json")  # type: ignore[attr-defined]
    pool = WorkerPool(queue=q, consumer="a", handler=handle, on_dead=nothing, concurrency=4, visibility_timeout=5)
    task = asyncio.create_task(pool.run())
    await until(lambda: _empty(q), what="every job handled")
    await pool.stop(grace=1)
    task.cancel()
    assert sorted(done) == sorted(f"R-{n}" for n in range(60))
    assert await r.xlen(q.dead) == 10  # the dead-letter stream is capped
    left = {k.decode().removeprefix(r.test_prefix) async for k in r.scan_iter(match=r.test_prefix + "*")}  # type: ignore[attr-defined]
    assert left <= {"jobs:seq", "jobs:vclock", "jobs:dead", "jobs:wake"}  # no job data, lanes, leases or owners


async def test_one_users_burst_does_not_delay_another_user(r: aioredis.Redis) -> None:
    q = queue_of(r)
    for n in range(150):
        await q.enqueue(job(n, user="U0BURST"))
    await q.enqueue(job(999, user="U0OTHER"))
    order = [await q.claim("a", lease=60) for _ in range(3)]
    runs = [Job.model_validate_json(c.payload).run_id for c in order if c]
    assert "R-999" in runs[:2]
    for _ in range(20):  # the burst goes on; a newcomer is served next, not after the rest of the burst
        await q.claim("a", lease=60)
    await q.enqueue(job(1000, user="U0LATE"))
    nxt = [Job.model_validate_json(c.payload).run_id for c in [await q.claim("a", lease=60) for _ in range(2)] if c]
    assert "R-1000" in nxt


async def test_delayed_jobs_become_claimable_when_due(r: aioredis.Redis) -> None:
    q = queue_of(r)
    now = datetime.now(UTC)
    await q.enqueue_at(Job(run_id="R-A", kind="review_timeout"), at=now - timedelta(seconds=1))
    await q.enqueue_at(Job(run_id="R-B", kind="review_timeout"), at=now + timedelta(hours=1))
    claim = await q.claim("a", lease=60)
    assert claim is not None and "R-A" in claim.payload
    assert await q.claim("a", lease=60) is None
    assert await r.zcard(q.due) == 1


def test_consumer_names_are_unique_per_process() -> None:
    names = {subprocess.run([sys.executable, "-c", "from integrations.worker_pool import consumer_prefix; "
                             "print(consumer_prefix())"], capture_output=True, text=True, check=True).stdout.strip()
             for _ in range(2)} | {consumer_prefix()}
    assert len(names) == 3
    assert all(len(n.rsplit("-", 1)[1]) == 8 for n in names)  # a random part: host + pid alone may collide


async def test_unfinished_jobs_of_the_earlier_stream_layout_are_adopted(r: aioredis.Redis) -> None:
    """Upgrading from the single stream with a consumer group: pending and undelivered entries are kept."""
    q = queue_of(r)
    stream = f"{r.test_prefix}jobs"  # type: ignore[attr-defined]
    for n in range(4):
        await r.xadd(stream, {"job": job(n).model_dump_json()})
    await r.xgroup_create(stream, "workers", id="0")
    [[_, delivered]] = await r.xreadgroup("workers", "old", {stream: ">"}, count=2)
    await r.xack(stream, "workers", delivered[0][0])  # R-0 done; R-1 pending; never delivered
    assert await q.adopt_legacy_stream() == 3
    assert not await r.exists(stream)
    runs = sorted(Job.model_validate_json(c.payload).run_id for c in [await q.claim("a", lease=60) for _ in range(4)]
                  if c)
    assert runs == ["R-1", "R-2", "R-3"]
    assert await q.adopt_legacy_stream() == 0
