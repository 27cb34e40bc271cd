"""Helpers for the schedule tests: a Maple "process" (the real app on real Redis) whose schedules run on a clock
the test controls, and schedules written straight to the store."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.core.recurrence import Recurrence
from bot.core.schedule_models import Schedule
from bot.core.schedules import Scheduling
from integrations.scheduler import Schedules
from integrations.timetable import ApsTimetable
from tests.fakes.memory import FixedClock
from tests.harness import CHANNEL, REQUESTER, Harness

T0 = datetime(2030, 1, 7, 9, 0, tzinfo=UTC)  # far from the real clock: APScheduler's own timer never wakes


@dataclasses.dataclass
class Proc:
    """One Maple process's schedules: the app's services with the test's clock."""

    harness: Harness
    sch: Scheduling
    runner: Schedules

    @classmethod
    def of(cls, h: Harness, clock: Any, *, lease: float = 60.0, sweep: float = 3600.0) -> Proc:
        assert h.maple is not None and h.maple.schedule_store is not None
        svc = dataclasses.replace(h.svc, clock=clock)
        sch = Scheduling(svc=svc, store=h.maple.schedule_store, timetable=ApsTimetable(), lease_seconds=lease)
        return cls(harness=h, sch=sch, runner=Schedules(sch=sch, store=h.maple.schedule_store, sweep_seconds=sweep))

    async def knows(self, schedule_id: str, *, present: bool = True) -> None:
        await self.harness.wait_for(lambda: (schedule_id in self.runner.job_ids()) == present,
                                    what=f"{schedule_id} followed by the process", timeout=10)


def every(seconds: int, *, anchor: datetime | None = None, tz: str = "America/Toronto") -> Recurrence:
    """Every ``seconds``, first at ``anchor`` (default: T0 + one period)."""
    first = anchor or T0 + timedelta(seconds=seconds)
    return Recurrence(kind="interval", every_seconds=seconds, anchor=first, tz=tz)


def schedule(*, rule: Recurrence, since: datetime = T0 - timedelta(seconds=1), owner: str = REQUESTER,
             workflow: str = "digest", grace: int = 600, **more: Any) -> Schedule:
    return Schedule(owner=owner, workflow=workflow, goal="digest of this channel", channel=more.pop("channel", CHANNEL),
                    team="T0TEST", rule=rule, description="test", created_at=since, active_since=since,
                    grace_seconds=grace, **more)


def clock(at: datetime = T0) -> FixedClock:
    return FixedClock(at)


async def fire_keys(h: Harness, schedule_id: str) -> dict[int, str]:
    """Every fire time of a schedule the store knows of (epoch → its value)."""
    import redis.asyncio as aioredis

    r = aioredis.from_url(h.redis_url)
    try:
        pattern = f"{h.prefix}schedule:fire:{schedule_id}:*"
        keys = [k async for k in r.scan_iter(match=pattern, count=1000)]
        values = await r.mget(keys) if keys else []
        return {int(k.decode().rsplit(":", 1)[1].lstrip("m")): v.decode() for k, v in zip(keys, values, strict=True)
                if v is not None}
    finally:
        await r.aclose()


async def gather_ticks(procs: list[Proc], i: int) -> None:
    order = procs if i % 2 else list(reversed(procs))  # neither process always asks first
    await asyncio.gather(*(p.runner.tick() for p in order))
