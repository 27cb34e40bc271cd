"""What operators read from Redis: the queue's depth, waiting jobs, oldest job and live workers; controls shared
by every process."""

from __future__ import annotations

import redis.asyncio as aioredis

from bot.core.models import Job
from integrations.redis_controls import RedisControls
from integrations.redis_queue import RedisJobQueue


async def test_queue_stats_follow_jobs_from_enqueue_to_ack(r: aioredis.Redis) -> None:
    q = RedisJobQueue(redis=r, prefix=r.test_prefix)  # type: ignore[attr-defined]
    assert (await q.stats()).depth == 0 and (await q.stats()).oldest_seconds == 0
    await q.enqueue(Job(run_id="R-1", kind="draft", user="U1"))
    await q.enqueue(Job(run_id="R-2", kind="draft", user="U2"))
    stats = await q.stats()
    assert (stats.depth, stats.waiting) == (2, 2) and stats.oldest_seconds >= 0
    first = await q.claim("c1", lease=30)
    assert first is not None
    assert ((await q.stats()).depth, (await q.stats()).waiting) == (2, 1)  # one running, one waiting
    assert await q.ack(first)
    second = await q.claim("c1", lease=30)
    assert second is not None and await q.bury(second, why="test")
    stats = await q.stats()
    assert (stats.depth, stats.waiting, stats.oldest_seconds, stats.dead) == (0, 0, 0, 1)
    assert await r.zcard(f"{r.test_prefix}jobs:since") == 0  # type: ignore[attr-defined]  # nothing left behind


async def test_workers_alive_counts_heartbeats_and_goodbyes(r: aioredis.Redis) -> None:
    q = RedisJobQueue(redis=r, prefix=r.test_prefix)  # type: ignore[attr-defined]
    assert await q.alive() == 0
    await q.beat("host-1-a")
    await q.beat("host-2-b")
    assert await q.alive() == 2
    await q.gone("host-1-a")
    assert await q.alive() == 1


async def test_a_control_set_by_one_process_is_read_by_another(r: aioredis.Redis) -> None:
    prefix = r.test_prefix  # type: ignore[attr-defined]
    cli = RedisControls(redis=r, prefix=prefix)
    worker = RedisControls(redis=r, prefix=prefix, queue=RedisJobQueue(redis=r, prefix=prefix))
    await worker.refresh()
    assert not worker.current().freeze_external
    await cli.set("freeze_external", on=True, by="ops", reason="incident")
    await worker.refresh()  # what its background loop does every second
    assert worker.current().freeze_external and not worker.current().intake_paused
    assert worker.backlog() is not None and worker.backlog().depth == 0  # type: ignore[union-attr]
    changes = await worker.read()
    assert changes["freeze_external"].by == "ops" and changes["freeze_external"].reason == "incident"
    await r.hset(f"{prefix}controls", "intake_paused", "not json")
    await worker.refresh()  # an unreadable control is ignored, the others stay in force
    assert worker.current().freeze_external and not worker.current().intake_paused
