"""Schedules on APScheduler (cron expressions in the configured time zone).

Several Maple processes may run the same schedules: each firing is claimed once in Redis (SET NX on the schedule id
and the minute it fired), so a digest is posted once however many processes run."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import redis.asyncio as aioredis
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger

from bot.core.errors import ConfigError, MapleError
from bot.core.schedules import fire
from bot.core.services import Services
from bot.core.spec import ScheduleSpec

log = logging.getLogger("maple.schedules")


def trigger(schedule: ScheduleSpec, timezone: str) -> CronTrigger:
    try:
        return CronTrigger.from_crontab(schedule.cron, timezone=timezone)
    except ValueError as exc:
        raise ConfigError(f"schedule {schedule.id!r}: invalid cron {schedule.cron!r} ({exc})") from exc


class Schedules:
    def __init__(self, *, svc: Services, redis: aioredis.Redis, prefix: str) -> None:
        self._svc, self._r, self._prefix = svc, redis, prefix
        self._scheduler = AsyncIOScheduler(timezone=svc.spec.tools.timezone)
        for schedule in svc.spec.schedules:
            self._scheduler.add_job(self.run_once, trigger(schedule, svc.spec.tools.timezone), args=[schedule],
                                    id=schedule.id, coalesce=True, misfire_grace_time=300, max_instances=1)

    def start(self) -> None:
        if self._svc.spec.schedules:
            self._scheduler.start()

    def stop(self) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)

    async def run_once(self, schedule: ScheduleSpec, *, at: datetime | None = None) -> bool:
        """Fire ``schedule`` unless another process already fired it this minute."""
        minute = (at or datetime.now(UTC)).strftime("%Y%m%d%H%M")
        try:
            claimed = await self._r.set(f"{self._prefix}schedule:{schedule.id}:{minute}", "1", nx=True, ex=86400)
            if not claimed:
                return False
            run = await fire(self._svc, schedule)
        except MapleError as exc:
            log.error("schedule failed", extra={"schedule": schedule.id, "error": type(exc).__name__})
            return False
        except Exception as exc:  # noqa: BLE001 - Redis errors must not kill the scheduler
            log.error("schedule failed", extra={"schedule": schedule.id, "error": type(exc).__name__})
            return False
        log.info("schedule fired", extra={"schedule": schedule.id, "run_id": run.id})
        return True
