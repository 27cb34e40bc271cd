"""Workers consuming the queue: at most ``concurrency`` jobs at once, each under a lease it keeps renewed.

The rules of ownership (see ``integrations.redis_queue`` for the scripts):
- take only what you can run now: a slot is acquired before a job is claimed, one job per claim;
- keep the lease from the moment of the claim: the lease keeper starts before the job is even parsed, and
  renews every ``visibility_timeout / 5`` — a renewal succeeds only if this delivery still owns the job;
- a worker that lost its lease (another worker took the job over after a stall, or it could not renew for a
  whole visibility timeout) cancels the job instead of racing the new owner, and acks nothing;
- a handler failure of any kind is retried (after a short backoff) and, after ``max_attempts`` deliveries,
  dead-lettered through ``on_dead``, which tells the requester; only a payload that is not a job at all is
  buried at once as malformed;
- a failure that is not the job's — Redis unreachable (a restart, a failover), Slack rate-limiting or unreachable
  past the client's own retries (``SurfaceUnavailable``), or a side effect still claimed by
  an earlier delivery cut off mid-post (``EffectInProgress``, which clears when that claim ages out) — is retried
  after a longer backoff and does not count towards ``max_attempts``: a Redis restart must not fail the runs
  that were in flight, nor a burst of 429s from Slack;
- a delivery cut off by its worker's death (a crash, a SIGKILL: its lease expired) counts as a delivery but not
  as a failure: a job is dead-lettered for deliveries that never finished only after ``max_attempts`` +
  ``EXTRA_DELIVERIES`` of them (a job that kills every worker that takes it still ends), so workers being killed
  now and then do not fail the runs they held.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
import time
from collections.abc import Awaitable, Callable

from pydantic import ValidationError
from redis.exceptions import RedisError

from bot.core.errors import EffectInProgress, StoreUnavailable, SurfaceUnavailable
from bot.core.models import Job
from integrations.redis_queue import Claim, RedisJobQueue, run_id_of

log = logging.getLogger("maple.queue")
Handler = Callable[[Job], Awaitable[None]]
DeadHandler = Callable[[Job, str], Awaitable[None]]
RENEWALS_PER_LEASE = 5
EXTRA_DELIVERIES = 5
NOT_THE_JOBS_FAULT = (StoreUnavailable, SurfaceUnavailable, EffectInProgress, RedisError, OSError)


def consumer_prefix() -> str:
    """A name unique to this process across hosts and pods: the host name and pid say where it runs (every
    container's pid may be 1), the random part makes it unique. Names are not registered anywhere in Redis —
    a job's owner token lives only as long as its lease — so dead consumers leave nothing behind."""
    host = "".join(ch for ch in socket.gethostname() if ch.isalnum() or ch in "-.")[:32] or "host"
    return f"{host}-{os.getpid()}-{secrets.token_hex(4)}"


class Lease:
    """Keeps one claim's lease renewed; ``lost`` is set the moment this delivery can no longer prove it owns
    the job."""

    def __init__(self, *, queue: RedisJobQueue, claim: Claim, seconds: float) -> None:
        self._q, self.claim, self._seconds = queue, claim, seconds
        self.lost = asyncio.Event()
        self._stopped = False
        self._task = asyncio.create_task(self._keep())

    async def _keep(self) -> None:
        confirmed = time.monotonic()  # the claim itself set the lease
        while True:
            await asyncio.sleep(self._seconds / RENEWALS_PER_LEASE)
            if self._stopped:
                return
            sent = time.monotonic()
            try:
                renewed: bool | None = await self._q.renew(self.claim, lease=self._seconds)
            except (RedisError, OSError) as exc:
                renewed = None
                log.warning("lease renewal failed", extra={"entry": self.claim.id, "error": type(exc).__name__})
            if self._stopped:
                return
            if renewed is False:
                break  # another delivery owns the job now
            if renewed:
                confirmed = sent
            if time.monotonic() - confirmed >= self._seconds:
                break  # silent for a whole lease: someone else may have taken the job
        log.warning("job lease lost; stopping it", extra={"entry": self.claim.id, "token": self.claim.token})
        self.lost.set()

    async def stop(self) -> None:
        """Stop renewing. Bounded even if a cancellation is swallowed below us: the flag ends the loop."""
        self._stopped = True
        self._task.cancel()
        await asyncio.wait({self._task}, timeout=self._seconds)


class WorkerPool:
    """Consumes jobs with ``concurrency`` in flight at most; ``stop()`` lets in-flight jobs finish."""

    def __init__(
        self,
        *,
        queue: RedisJobQueue,
        consumer: str,
        handler: Handler,
        on_dead: DeadHandler,
        concurrency: int = 2,
        visibility_timeout: float = 30.0,
        max_attempts: int = 3,
        idle_wait: float = 0.5,
    ) -> None:
        self._q, self.consumer = queue, consumer
        self._handler, self._on_dead = handler, on_dead
        self._slots = asyncio.Semaphore(concurrency)
        self._lease = visibility_timeout
        self._max_attempts = max_attempts
        self._idle_wait = idle_wait
        self._stopping = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()

    async def run(self) -> None:
        await self._adopt()
        while not self._stopping.is_set():
            await self._slots.acquire()  # a free slot first: never hold a job this pool cannot start
            claim = await self._claim()
            if claim is None:
                self._slots.release()
                continue
            lease = Lease(queue=self._q, claim=claim, seconds=self._lease)  # heartbeat from the claim on
            task = asyncio.create_task(self._process(claim, lease))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _adopt(self) -> None:
        while not self._stopping.is_set():
            try:
                await self._q.adopt_legacy_stream()
                return
            except (RedisError, OSError) as exc:
                log.warning("queue unavailable, retrying", extra={"error": type(exc).__name__})
                await self._pause(2.0)

    async def _claim(self) -> Claim | None:
        """One job for the slot just taken, or None (after idling, or when stopping). The pool's task cancelled
        while its claim is on its way (shutdown) waits for the claim and gives back what it took, rather than
        leave the job leased to nobody until its lease expires."""
        if self._stopping.is_set():
            return None
        claiming = asyncio.ensure_future(self._q.claim(self.consumer, lease=self._lease))
        try:
            claim = await asyncio.shield(claiming)
        except asyncio.CancelledError:
            with contextlib.suppress(RedisError, OSError, TimeoutError):
                async with asyncio.timeout(2):
                    if (taken := await claiming) is not None:  # never started: not charged a delivery
                        await self._q.release(taken, delay=0, forgive=True)
            raise
        except (RedisError, OSError) as exc:
            log.warning("queue unavailable, retrying", extra={"error": type(exc).__name__})
            await self._pause(1.0)
            return None
        if claim is None:
            await self._idle()
        elif self._stopping.is_set():  # stop() began while the claim was on its way: give it back, uncharged
            with contextlib.suppress(RedisError, OSError):
                await self._q.release(claim, delay=0, forgive=True)
            return None
        return claim

    async def stop(self, *, grace: float = 30.0) -> None:
        """Stop taking jobs; wait up to ``grace`` seconds for in-flight ones. Unfinished ones are given back at
        once, for another worker to take."""
        self._stopping.set()
        if self._tasks:
            _done, pending = await asyncio.wait(set(self._tasks), timeout=grace)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

    async def _idle(self) -> None:
        try:
            await self._q.wait(self._idle_wait)
        except (RedisError, OSError):
            await self._pause(self._idle_wait)

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

    async def _process(self, claim: Claim, lease: Lease) -> None:
        try:
            job, problem = _parse(claim.payload)
            if job is None:
                await self._settle(lease, self._q.bury(claim, why=f"malformed job payload: {problem}"))
                log.error("malformed job dead-lettered", extra={"entry": claim.id, "run_id": run_id_of(claim.payload),
                                                                "why": problem})
            elif claim.tries > self._max_attempts + EXTRA_DELIVERIES:
                await self._give_up(claim, lease, job, f"delivered {claim.tries - 1} times without finishing")
            else:
                await self._attempt(claim, lease, job)
        except asyncio.CancelledError:
            with contextlib.suppress(RedisError, OSError, TimeoutError):
                async with asyncio.timeout(2):  # shutting down: hand the job back now
                    await self._q.release(claim, delay=0)
            raise
        except (RedisError, OSError) as exc:  # the lease expires and the job is taken again
            log.warning("queue step failed", extra={"entry": claim.id, "token": claim.token,
                                                    "error": type(exc).__name__})
        finally:
            await lease.stop()
            self._slots.release()

    async def _attempt(self, claim: Claim, lease: Lease, job: Job) -> None:
        work = asyncio.create_task(self._handler(job))
        lost = asyncio.create_task(lease.lost.wait())
        try:
            await asyncio.wait({work, lost}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            lost.cancel()
            if not work.done():
                work.cancel()
                await asyncio.gather(work, return_exceptions=True)
        if lease.lost.is_set() and not (work.done() and not work.cancelled() and work.exception() is None):
            return  # not ours any more: the new owner runs it
        error = work.exception() if not work.cancelled() else asyncio.CancelledError()
        if error is None:
            await self._settle(lease, self._q.ack(claim))
            return
        if isinstance(error, NOT_THE_JOBS_FAULT):
            delay = min(self._lease, 2.0 ** min(claim.tries + 1, 5))
            log.warning("job deferred: not its own failure", extra={
                "entry": claim.id, "run_id": job.run_id, "job": job.kind, "error": type(error).__name__,
                "retry_in": delay})
            await self._settle(lease, self._q.release(claim, delay=delay, forgive=True))
            return
        log.error("job failed", exc_info=error, extra={"entry": claim.id, "run_id": job.run_id, "job": job.kind,
                                                       "attempt": claim.tries, "error": type(error).__name__})
        if claim.tries >= self._max_attempts:
            await self._give_up(claim, lease, job, f"failed {claim.tries} times: {type(error).__name__}")
        else:
            await self._settle(lease, self._q.release(claim, delay=min(self._lease, 2.0 ** (claim.tries - 1))))

    async def _give_up(self, claim: Claim, lease: Lease, job: Job, why: str) -> None:
        """Tell the requester (``on_dead``) first, then bury: a crash in between repeats ``on_dead``, which is
        idempotent, rather than losing it."""
        try:
            await self._on_dead(job, why)
        except Exception as exc:  # noqa: BLE001 - retried at the next delivery
            log.error("dead-letter handler failed", extra={"run_id": job.run_id, "error": type(exc).__name__})
            await self._settle(lease, self._q.release(claim, delay=self._lease))
            return
        if await self._settle(lease, self._q.bury(claim, why=why)):
            log.error("job dead-lettered", extra={"run_id": job.run_id, "job": job.kind, "why": why})

    async def _settle(self, lease: Lease, step: Awaitable[bool]) -> bool:
        """A fenced final step; False (logged) when the job is no longer this delivery's. Renewals stop first,
        so a renewal racing the step cannot report a finished job as lost."""
        await lease.stop()
        done = await step
        if not done:
            log.warning("job lease lost before it was settled", extra={"entry": lease.claim.id,
                                                                       "token": lease.claim.token})
        return done


def _parse(payload: str) -> tuple[Job | None, str]:
    """The job, or why the payload is not one (the only failure that is dead-lettered without retries)."""
    try:
        return Job.model_validate_json(payload), ""
    except ValidationError as exc:
        first = exc.errors()[0]
        return None, f"{'.'.join(str(p) for p in first['loc']) or 'payload'}: {first['msg']}"
