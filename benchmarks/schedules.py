"""Schedules at scale, against real Redis and the real app (two in-process Maple "processes" on one prefix, a fake
Slack Web API, no workers so the runs a firing creates stay queued):

1. the time one process takes to start with 10,000 schedules stored (load, build its APScheduler jobs, catch up);
2. fire-time lateness (run created − scheduled time) with 1,000 schedules due at the same instant, two processes
   each woken by its own APScheduler, and duplicates / misses (must both be 0).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.core.ports import SystemClock  # noqa: E402
from bot.core.recurrence import Recurrence  # noqa: E402
from bot.core.schedule_models import Schedule  # noqa: E402
from tests.fakes.openai_api import FakeOpenAI  # noqa: E402
from tests.fakes.slack_api import FakeSlack  # noqa: E402
from tests.harness import CHANNEL, REQUESTER, Harness  # noqa: E402
from tests.schedule_kit import Proc  # noqa: E402

LOAD, DUE = 10_000, 1_000


def docs(count: int, *, rule: Recurrence, since: datetime) -> list[Schedule]:
    return [Schedule(owner=REQUESTER, workflow="digest", goal=f"digest number {i} of this channel", channel=CHANNEL,
                     team="T0TEST", rule=rule, description="benchmark", created_at=since, active_since=since)
            for i in range(count)]


async def write(h: Harness, schedules: list[Schedule]) -> None:
    r = h.maple.redis  # type: ignore[union-attr]
    for start in range(0, len(schedules), 1000):
        pipe = r.pipeline(transaction=False)
        for s in schedules[start:start + 1000]:
            pipe.hset(f"{h.prefix}schedules", s.id, s.model_dump_json())
        await pipe.execute()


async def load_time(slack: FakeSlack, openai: FakeOpenAI) -> tuple[float, int]:
    h = await Harness(slack=slack, openai=openai, workers=0).start()
    try:
        now = datetime.now(UTC)
        rules = [Recurrence(kind="cron", cron=f"{m} 9 * * mon-fri", tz="America/Toronto") for m in range(60)]
        stored = [s for i, rule in enumerate(rules) for s in docs(LOAD // len(rules) + (i < LOAD % len(rules)),
                                                                   rule=rule, since=now)]
        await write(h, stored)
        proc = Proc.of(h, SystemClock())
        started = time.perf_counter()
        await proc.runner.start()
        took = time.perf_counter() - started
        jobs = len(proc.runner.job_ids())
        await proc.runner.stop()
        return took, jobs
    finally:
        await h.stop()
        await h.cleanup_redis()


async def lateness(slack: FakeSlack, openai: FakeOpenAI) -> dict[str, float]:
    one = Harness(slack=slack, openai=openai, workers=0)
    two = Harness(slack=slack, openai=openai, workers=0)
    two.prefix = one.prefix
    await one.start()
    await two.start()
    try:
        procs = [Proc.of(one, SystemClock()), Proc.of(two, SystemClock())]
        for p in procs:
            await p.runner.start()
        due = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=10)
        rule = Recurrence(kind="interval", every_seconds=86_400, anchor=due, tz="America/Toronto")
        made = docs(DUE, rule=rule, since=due - timedelta(minutes=1))
        for s in made:
            await procs[0].sch.store.create(s)  # announced: both processes add the job at once
        while datetime.now(UTC) < due + timedelta(seconds=2) or sum(len(p.sch.fired) for p in procs) < DUE:
            await asyncio.sleep(0.2)
            if datetime.now(UTC) > due + timedelta(seconds=120):
                break
        runs = await one.svc.store.since(due - timedelta(minutes=5))
        late = sorted((r.created_at - due).total_seconds() * 1000 for r in runs)
        per = Counter((r.origin.schedule, r.origin.until) for r in runs)
        for p in procs:
            await p.runner.stop()
        return {"runs": len(runs), "p50": statistics.median(late), "p99": late[int(0.99 * (len(late) - 1))],
                "max": late[-1], "duplicates": sum(n - 1 for n in per.values()),
                "missed": DUE - len({r.origin.schedule for r in runs}),
                "fired_a": len(procs[0].sch.fired), "fired_b": len(procs[1].sch.fired),
                "queued": await one.maple.queue.depth()}  # type: ignore[union-attr]
    finally:
        await two.stop()
        await one.stop()
        await one.cleanup_redis()


async def main() -> None:
    os.environ.setdefault("MAPLE_TEST_OPENAI_KEY", "sk-bench")
    slack, openai = FakeSlack(), FakeOpenAI()
    slack.add_channel(CHANNEL, member=True, members=[REQUESTER])
    await slack.start()
    await openai.start()
    try:
        took, jobs = await load_time(slack, openai)
        print(f"start-up with {LOAD:,} schedules stored: {took:.2f} s ({jobs:,} APScheduler jobs, catch-up included)")
        figures = await lateness(slack, openai)
        print(f"{DUE:,} schedules due at the same second, two processes: lateness p50 {figures['p50']:.0f} ms, "
              f"p99 {figures['p99']:.0f} ms, max {figures['max']:.0f} ms")
        print(f"  runs {figures['runs']:.0f} (queued jobs {figures['queued']:.0f}), fired by process A "
              f"{figures['fired_a']:.0f} / B {figures['fired_b']:.0f}, duplicates {figures['duplicates']:.0f}, "
              f"missed {figures['missed']:.0f}")
    finally:
        await openai.stop()
        await slack.stop()


if __name__ == "__main__":
    asyncio.run(main())
