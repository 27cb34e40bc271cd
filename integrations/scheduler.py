"""Running schedules in every Maple process, on APScheduler 3, with Redis as the one shared state.

APScheduler's user guide is explicit that a job store must never be shared between schedulers (they would fire
jobs twice or miss them), and its Redis job store pickles jobs. So each process runs its own ``AsyncIOScheduler``
with the in-memory job store, rebuilt from Maple's own JSON schedules in Redis:

- a job per active schedule, whose trigger is Maple's ``Timetable`` (the same fire times the person was shown);
- APScheduler's executor hands the *scheduled* run times to the core, which claims each (schedule, fire time)
  in Redis and fires it once across all processes (``bot.core.schedules.fire``);
- every change (create, pause, resume, delete) is published in the write that makes it; each process
  subscribes and updates its jobs at once, and a periodic sweep re-reads everything and catches up on fire times
  nobody settled (a process that died mid-firing, a lost notification);
- on start-up the same catch-up fires what every process slept through, within each schedule's grace, and records
  the rest as missed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.executors.asyncio import AsyncIOExecutor
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.base import BaseTrigger

from bot.core.errors import MapleError, NotFound
from bot.core.recurrence import Recurrence, Timetable
from bot.core.schedule_desk import sync_config
from bot.core.schedule_models import Schedule
from bot.core.schedules import Scheduling, catch_up, fire
from integrations.redis_schedules import RedisScheduleStore

log = logging.getLogger("maple.schedules")
_TICK = timedelta(microseconds=1)


class TimetableTrigger(BaseTrigger):
    """An APScheduler trigger that asks Maple's timetable, so APScheduler wakes exactly at Maple's fire times."""

    def __init__(self, timetable: Timetable, rule: Recurrence) -> None:
        self._timetable, self._rule = timetable, rule

    def get_next_fire_time(self, previous_fire_time: datetime | None, now: datetime) -> datetime | None:
        after = previous_fire_time if previous_fire_time is not None else now - _TICK
        return self._timetable.next_after(self._rule, after)


class _Firing(AsyncIOExecutor):
    """Hands each job's scheduled run times to the runner instead of calling the job function."""

    def __init__(self, runner: Schedules) -> None:
        super().__init__()
        self._runner = runner

    def _do_submit_job(self, job: Any, run_times: list[datetime]) -> None:
        task = self._eventloop.create_task(self._runner.due(job.id, list(run_times)))
        self._pending_futures.add(task)

        def done(f: asyncio.Future[None]) -> None:
            self._pending_futures.discard(f)
            self._run_job_success(job.id, [])

        task.add_done_callback(done)


async def _nothing() -> None:
    return None


class Schedules:
    """One process's scheduler. ``tick()`` is the sweep (tests call it with a controllable clock)."""

    def __init__(self, *, sch: Scheduling, store: RedisScheduleStore, sweep_seconds: float = 60.0) -> None:
        self.sch, self.store, self._sweep_every = sch, store, sweep_seconds
        self._aps = AsyncIOScheduler(timezone=UTC, executors={"default": _Firing(self)},
                                     job_defaults={"coalesce": False, "max_instances": 100,
                                                   "misfire_grace_time": None})
        self._known: dict[str, Schedule] = {}
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self.started = False

    async def start(self) -> None:
        """Load every schedule, catch up on what was missed while no process ran, then follow changes."""
        await sync_config(self.sch, self.sch.svc.spec)
        self._aps.start()
        ready = asyncio.Event()  # follow changes first, so nothing made while loading is left out
        self._tasks = [asyncio.create_task(self.store.listen(self.changed, stop=self._stop, ready=ready))]
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(ready.wait(), timeout=5)
        await self.reload()
        await self.tick()
        self._tasks.append(asyncio.create_task(self._sweeper()))
        self.started = True

    async def stop(self) -> None:
        self._stop.set()
        if self._aps.running:
            self._aps.shutdown(wait=False)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def job_ids(self) -> set[str]:
        return {job.id for job in self._aps.get_jobs()}

    def next_run(self, schedule_id: str) -> datetime | None:
        job = self._aps.get_job(schedule_id)
        return job.next_run_time if job is not None else None

    async def reload(self) -> None:
        schedules = await self.store.all()
        seen = {s.id for s in schedules}
        for schedule in schedules:
            self._track(schedule)
        for gone in set(self._known) - seen:
            self._forget(gone)

    async def changed(self, schedule_id: str) -> None:
        """A schedule was created, changed or deleted somewhere: follow it here at once."""
        try:
            self._track(await self.store.get(schedule_id))
        except NotFound:
            self._forget(schedule_id)
        except MapleError as exc:
            log.warning("could not follow a schedule change", extra={"schedule": schedule_id,
                                                                     "error": type(exc).__name__})

    def _track(self, schedule: Schedule) -> None:
        known = self._known.get(schedule.id)
        if known is not None and known.version == schedule.version and known == schedule:
            return
        self._known[schedule.id] = schedule
        with contextlib.suppress(Exception):
            self._aps.remove_job(schedule.id)
        if schedule.state == "active":
            self._aps.add_job(_nothing, TimetableTrigger(self.sch.timetable, schedule.rule), id=schedule.id,
                              name=schedule.id, replace_existing=True)

    def _forget(self, schedule_id: str) -> None:
        self._known.pop(schedule_id, None)
        with contextlib.suppress(Exception):
            self._aps.remove_job(schedule_id)

    async def due(self, schedule_id: str, run_times: Iterable[datetime]) -> None:
        """APScheduler woke for these scheduled times: fire each once (or record it missed, past its grace)."""
        schedule = self._known.get(schedule_id)
        if schedule is None:
            return
        for at in run_times:
            try:
                if self.sch.now() - at > timedelta(seconds=schedule.grace_seconds):
                    await catch_up(self.sch, [schedule])
                else:
                    await fire(self.sch, schedule, at)
            except MapleError as exc:
                log.error("schedule firing failed", extra={"schedule": schedule_id, "error": type(exc).__name__})

    async def tick(self) -> int:
        """The sweep: catch up on every fire time nobody settled. How many this process fired."""
        return sum(r.result == "fired" for r in await catch_up(self.sch, list(self._known.values())))

    async def _sweeper(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._stop.wait(), timeout=self._sweep_every)
            if self._stop.is_set():
                return
            try:
                await self.reload()
                await self.tick()
            except MapleError as exc:
                log.warning("schedule sweep failed", extra={"error": type(exc).__name__})
