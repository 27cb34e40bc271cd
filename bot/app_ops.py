"""What operators see of a running Maple: readiness checks, the gauges read from Redis at scrape time, and the
heartbeat by which each worker process says it is alive."""

from __future__ import annotations

import asyncio
import logging

from bot.core.errors import MapleError
from bot.core.ports import RunStore
from bot.core.router import Router
from bot.supervisor import Supervisor
from integrations import metrics
from integrations.redis_queue import RedisJobQueue

log = logging.getLogger("maple.ops")
BEAT_SECONDS = 5.0
ALIVE_WITHIN = 15.0  # a worker process that has not beaten for this long counts as gone


async def readiness(*, store: RunStore, queue: RedisJobQueue, router: Router,
                    processes: Supervisor | None = None) -> dict[str, bool]:
    """``/readyz``: Redis answers, at least one worker process (on any host) is alive, and at least one model
    may be used now (operator controls included); under ``maple serve``'s supervision, at least one of its own
    worker processes is running (``/readyz`` says how many of how many)."""
    redis_ok = await store.ping()
    workers = 0
    if redis_ok:
        try:
            workers = await queue.alive(within=ALIVE_WITHIN)
        except MapleError:
            redis_ok = False
    checks = {"redis": redis_ok, "workers": workers > 0, "model": bool(router.usable())}
    if processes is not None:
        checks["worker_processes"] = processes.alive() > 0
    return checks


async def refresh_gauges(*, queue: RedisJobQueue) -> None:
    """Queue depth, waiting jobs, the oldest job's age, dead letters and live workers, read at scrape time."""
    try:
        stats = await queue.stats()
        alive = await queue.alive(within=ALIVE_WITHIN)
    except MapleError as exc:
        log.warning("metrics: queue unreadable", extra={"error": type(exc).__name__})
        return
    metrics.QUEUE_DEPTH.set(stats.depth)
    metrics.QUEUE_WAITING.set(stats.waiting)
    metrics.QUEUE_OLDEST.set(stats.oldest_seconds)
    metrics.DEAD_LETTERS.set(stats.dead)
    metrics.WORKERS.set(alive)


async def heartbeat(queue: RedisJobQueue, consumer: str) -> None:
    """Beat every few seconds until cancelled; say goodbye when stopped."""
    try:
        while True:
            try:
                await queue.beat(consumer)
            except MapleError as exc:
                log.warning("worker heartbeat failed", extra={"error": type(exc).__name__})
            await asyncio.sleep(BEAT_SECONDS)
    finally:
        try:
            await asyncio.wait_for(queue.gone(consumer), 2)
        except (MapleError, TimeoutError):
            pass
