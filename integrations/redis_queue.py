"""The durable work queue: a Redis Stream with a consumer group.

Why Streams rather than a job library: the consumer group gives exactly the semantics the design needs —
each entry owned by one consumer, a pending list that survives crashes, XAUTOCLAIM to take over entries
idle longer than the visibility timeout, a per-entry delivery counter for the dead-letter rule — with no
extra dependency and one Redis round trip per operation. While a job runs its owner re-claims it every
third of the visibility timeout (XCLAIM to itself resets the idle time), so a slow model call is never
taken over by a second worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import datetime

import redis.asyncio as aioredis
from redis.exceptions import RedisError, ResponseError

from bot.core.models import Job
from bot.core.ports import JobQueue
from integrations.redis_store import as_text, guarded

log = logging.getLogger("maple.queue")
_PROMOTE = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, 50)
for _, job in ipairs(due) do
  redis.call('XADD', KEYS[2], '*', 'job', job)
  redis.call('ZREM', KEYS[1], job)
end
return #due
"""
GROUP = "workers"
Handler = Callable[[Job], Awaitable[None]]
DeadHandler = Callable[[Job, str], Awaitable[None]]


class RedisJobQueue(JobQueue):
    def __init__(self, *, redis: aioredis.Redis, prefix: str = "maple:") -> None:
        self._r = redis
        self.stream = f"{prefix}jobs"
        self.dead = f"{prefix}jobs:dead"
        self.due = f"{prefix}jobs:due"
        self._promote = redis.register_script(_PROMOTE)

    async def enqueue(self, job: Job) -> None:
        await guarded(lambda: self._r.xadd(self.stream, {"job": job.model_dump_json()}))

    async def enqueue_at(self, job: Job, *, at: datetime) -> None:
        await guarded(lambda: self._r.zadd(self.due, {job.model_dump_json(): at.timestamp()}))

    async def promote_due(self, *, now: float | None = None) -> int:
        """Move jobs whose time has come from the due set to the stream, atomically."""
        moved = await self._promote(keys=[self.due, self.stream], args=[now if now is not None else time.time()])
        return int(moved)

    async def ensure_group(self) -> None:
        try:
            await self._r.xgroup_create(self.stream, GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise


class WorkerPool:
    """Consumes jobs with ``concurrency`` in-flight at most; ``stop()`` lets in-flight jobs finish."""

    def __init__(
        self,
        *,
        queue: RedisJobQueue,
        redis: aioredis.Redis,
        consumer: str,
        handler: Handler,
        on_dead: DeadHandler,
        concurrency: int = 4,
        visibility_timeout: float = 30.0,
        max_attempts: int = 3,
        block_ms: int = 500,
    ) -> None:
        self._q, self._r, self.consumer = queue, redis, consumer
        self._handler, self._on_dead = handler, on_dead
        self._slots = asyncio.Semaphore(concurrency)
        self._visibility_ms = int(visibility_timeout * 1000)
        self._max_attempts = max_attempts
        self._block_ms = block_ms
        self._stopping = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()

    async def run(self) -> None:
        while not self._stopping.is_set():
            try:
                await self._q.ensure_group()
                break
            except (RedisError, OSError) as exc:
                log.warning("queue unavailable, retrying", extra={"error": type(exc).__name__})
                await self._pause(2.0)
        while not self._stopping.is_set():
            try:
                await self._q.promote_due()
                entries = await self._reclaim() or await self._read()
            except RedisError as exc:
                log.warning("queue read failed", extra={"error": type(exc).__name__})
                await self._pause(1.0)
                continue
            for entry_id, fields in entries:
                await self._slots.acquire()
                task = asyncio.create_task(self._process(entry_id, fields))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    async def stop(self, *, grace: float = 30.0) -> None:
        """Stop taking jobs; wait up to ``grace`` seconds for in-flight ones. Unfinished ones stay pending and
        are reclaimed by another worker after the visibility timeout."""
        self._stopping.set()
        if self._tasks:
            _done, pending = await asyncio.wait(set(self._tasks), timeout=grace)
            for task in pending:
                task.cancel()

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

    async def _read(self) -> list[tuple[str, dict[str, str]]]:
        free = max(1, self._slots._value)  # noqa: SLF001 - read-only peek at free slots
        reply = await self._r.xreadgroup(GROUP, self.consumer, {self._q.stream: ">"}, count=free, block=self._block_ms)
        return [(as_text(i), _fields(f)) for _stream, items in (reply or []) for i, f in items]

    async def _reclaim(self) -> list[tuple[str, dict[str, str]]]:
        reply = await self._r.xautoclaim(
            self._q.stream, GROUP, self.consumer, min_idle_time=self._visibility_ms, start_id="0-0", count=4
        )
        return [(as_text(i), _fields(f)) for i, f in reply[1] if f]

    async def _attempts(self, entry_id: str) -> int:
        info = await self._r.xpending_range(self._q.stream, GROUP, min=entry_id, max=entry_id, count=1)
        return int(info[0]["times_delivered"]) if info else 1

    async def _process(self, entry_id: str, fields: dict[str, str]) -> None:
        heartbeat = asyncio.create_task(self._heartbeat(entry_id))
        try:
            job = Job.model_validate_json(fields.get("job", "{}"))
            attempts = await self._attempts(entry_id)
            if attempts > self._max_attempts:
                await self._bury(entry_id, fields, job, f"failed {attempts - 1} times")
                return
            await self._handler(job)
            await self._r.xack(self._q.stream, GROUP, entry_id)
        except asyncio.CancelledError:
            raise
        except ValueError as exc:
            log.error("malformed job", extra={"entry": entry_id, "error": type(exc).__name__})
            await self._r.xack(self._q.stream, GROUP, entry_id)
        except Exception as exc:  # noqa: BLE001 - a failing job must never kill the worker
            log.exception("job failed", extra={"entry": entry_id, "error": type(exc).__name__,
                                               "run_id": _run_id(fields)})
        finally:
            heartbeat.cancel()
            self._slots.release()

    async def _heartbeat(self, entry_id: str) -> None:
        while True:
            await asyncio.sleep(self._visibility_ms / 3000)
            with contextlib.suppress(RedisError):
                await self._r.xclaim(self._q.stream, GROUP, self.consumer, 0, [entry_id], justid=True)

    async def _bury(self, entry_id: str, fields: dict[str, str], job: Job, why: str) -> None:
        await self._r.xadd(self._q.dead, {"job": fields.get("job", ""), "why": why, "entry": entry_id})
        await self._r.xack(self._q.stream, GROUP, entry_id)
        log.error("job dead-lettered", extra={"run_id": job.run_id, "job": job.kind, "why": why})
        await self._on_dead(job, why)


def _fields(raw: dict[bytes | str, bytes | str]) -> dict[str, str]:
    return {as_text(k): as_text(v) for k, v in raw.items()}


def _run_id(fields: dict[str, str]) -> str | None:
    try:
        return str(json.loads(fields.get("job", "{}")).get("run_id"))
    except ValueError:
        return None
