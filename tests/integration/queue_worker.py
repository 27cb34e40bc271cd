"""A worker process for the queue tests: real WorkerPools whose handler records what it does in Redis.

    python -m tests.integration.queue_worker REDIS_URL PREFIX POOLS CONCURRENCY VISIBILITY

A job's run id ends with how long its handler takes, in ms (``R-7-1200``). Every event goes to one Redis list
(``<prefix>log``), so events from every process are totally ordered: ``start|end|cancelled <run> <consumer>``
from the handler, and ``lost|failed <entry> <token>`` when a pool reports a lost lease or a failed queue step.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys

import redis.asyncio as aioredis

from bot.core.models import Job
from integrations.redis_conn import PoolSize, connect
from integrations.redis_queue import RedisJobQueue
from integrations.worker_pool import WorkerPool


class ToRedis(logging.Handler):
    """Forwards the pool's "lease lost" and "queue step failed" warnings to the event list."""

    def __init__(self, loop: asyncio.AbstractEventLoop, r: aioredis.Redis, key: str) -> None:
        super().__init__(logging.WARNING)
        self._loop, self._r, self._key = loop, r, key
        self.pending: set[asyncio.Task[object]] = set()

    def emit(self, record: logging.LogRecord) -> None:
        kind = {"job lease lost; stopping it": "lost", "job lease lost before it was settled": "lost",
                "queue step failed": "failed"}.get(record.getMessage())
        if kind:
            entry, token = getattr(record, "entry", "?"), getattr(record, "token", "?")
            task = self._loop.create_task(self._r.rpush(self._key, f"{kind} {entry} {token}"))
            self.pending.add(task)
            task.add_done_callback(self.pending.discard)


def handler_for(r: aioredis.Redis, key: str, consumer: str):  # type: ignore[no-untyped-def]
    async def handle(job: Job) -> None:
        await r.rpush(key, f"start {job.run_id} {consumer}")
        try:
            await asyncio.sleep(int(job.run_id.rsplit("-", 1)[1]) / 1000)
        except asyncio.CancelledError:
            await asyncio.shield(r.rpush(key, f"cancelled {job.run_id} {consumer}"))
            raise
        await r.rpush(key, f"end {job.run_id} {consumer}")

    return handle


async def main(url: str, prefix: str, pools: int, concurrency: int, visibility: float) -> None:
    r = connect(url, size=PoolSize(max_connections=pools * (concurrency * 2 + 2) + 4))
    key = f"{prefix}log"
    logging.getLogger("maple.queue").addHandler(ToRedis(asyncio.get_running_loop(), r, key))
    queue = RedisJobQueue(redis=r, prefix=prefix)

    async def dead(job: Job, why: str) -> None:
        await r.rpush(key, f"dead {job.run_id} {why}")

    workers = []
    for i in range(pools):
        consumer = f"{os.getpid()}-{i}"
        workers.append(WorkerPool(queue=queue, consumer=consumer, handler=handler_for(r, key, consumer),
                                  on_dead=dead, concurrency=concurrency, visibility_timeout=visibility,
                                  max_attempts=50))
    await r.rpush(key, f"ready {os.getpid()} -")
    await asyncio.gather(*(w.run() for w in workers))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])))
