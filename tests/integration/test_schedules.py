"""Schedules across processes on one real Redis: exactly once per scheduled fire time, nothing missed, durable
across restarts, a process killed mid-firing, changes followed at once, misfires on start-up, revoked roles."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from bot.core import text
from bot.core.models import RunState
from tests.fakes.openai_api import FakeOpenAI
from tests.fakes.slack_api import FakeSlack
from tests.harness import CHANNEL, REQUESTER, Harness, spec_dict
from tests.schedule_kit import T0, Proc, clock, every, fire_keys, gather_ticks, schedule


@pytest.fixture
async def pair(slack: FakeSlack, openai_fake: FakeOpenAI,
               monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[tuple[Harness, Harness]]:
    """Two Maple processes on one Redis prefix (no workers: the runs a firing creates stay queued)."""
    monkeypatch.setenv("MAPLE_TEST_OPENAI_KEY", "sk-test")
    one = Harness(slack=slack, openai=openai_fake, workers=0)
    two = Harness(slack=slack, openai=openai_fake, workers=0)
    two.prefix = one.prefix
    await one.start()
    await two.start()
    yield one, two
    await two.stop()
    await one.stop()
    await one.cleanup_redis()


async def test_two_processes_fire_every_time_exactly_once(pair: tuple[Harness, Harness]) -> None:
    """Two schedules × 120 fire times, both processes sweeping at every fire time at once (their ticks overlap
    on Redis): every fire time has exactly one run and one queued job, none is missed, and both processes fired."""
    one, two = pair
    now = clock()
    procs = [Proc.of(one, now), Proc.of(two, now)]
    for p in procs:
        await p.runner.start()
    made = [await procs[0].sch.store.create(schedule(rule=every(300))) for _ in range(2)]
    for p in procs:
        for s in made:
            await p.knows(s.id)
    for i in range(120):
        now.advance(300)
        await gather_ticks(procs, i)
    for p in procs:
        await p.runner.stop()
    expected = {int((T0 + timedelta(seconds=300 * k)).timestamp()) for k in range(1, 121)}
    for s in made:
        keys = await fire_keys(one, s.id)
        assert set(keys) == expected and all(v.startswith("done:fired:R-") for v in keys.values())
    runs = await one.svc.store.since(T0)
    assert len(runs) == 240 == len({r.id for r in runs}) == len({(r.origin.schedule, r.origin.until) for r in runs})
    assert await one.maple.queue.depth() == 240  # one draft job per run: nothing enqueued twice
    fired = [len(p.sch.fired) for p in procs]
    assert sum(fired) == 240 and min(fired) > 0


async def test_restart_keeps_schedules_and_the_period_since_the_last_firing(
        slack: FakeSlack, openai_fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAPLE_TEST_OPENAI_KEY", "sk-test")
    first = await Harness(slack=slack, openai=openai_fake, workers=0).start()
    now = clock()
    proc = Proc.of(first, now)
    await proc.runner.start()
    made = await proc.sch.store.create(schedule(rule=every(3600)))
    await proc.knows(made.id)
    now.advance(3600)
    assert await proc.runner.tick() == 1
    await proc.runner.stop()
    await first.stop()
    again = Harness(slack=slack, openai=openai_fake, workers=0)
    again.prefix = first.prefix
    await again.start()
    try:
        proc = Proc.of(again, now)
        await proc.runner.start()  # a new process: everything comes from Redis
        assert made.id in proc.runner.job_ids()
        assert await proc.runner.tick() == 0  # the hour already fired is not fired again
        now.advance(3600)
        assert await proc.runner.tick() == 1
        runs = sorted(await again.svc.store.since(T0), key=lambda r: r.origin.until or 0)
        assert [r.origin.until for r in runs] == [(T0 + timedelta(hours=h)).timestamp() for h in (1, 2)]
        assert runs[1].origin.since == runs[0].origin.until  # the digest covers the period since the last firing
        await proc.runner.stop()
    finally:
        await again.stop()
        await first.cleanup_redis()


async def test_created_on_one_process_fires_on_the_other(pair: tuple[Harness, Harness]) -> None:
    """Created through a signed ``/maple schedule`` to one process; the other follows it at once (the change is
    announced) and fires it; a pause and a delete are followed the same way."""
    one, two = pair
    other = Proc.of(two, clock())
    await other.runner.start()
    status, body = await one.slash(REQUESTER, "schedule every weekday at 9:00 digest of this channel")
    assert status == 200 and "Scheduled S-" in body["text"], body
    made = (await other.sch.store.all())[0]
    await other.knows(made.id)
    at = other.sch.timetable.next_after(made.rule, made.created_at)
    assert at is not None and other.runner.next_run(made.id) == at
    other.sch.svc.clock.at = at + timedelta(seconds=1)  # type: ignore[attr-defined]
    assert await other.runner.tick() == 1
    run = (await one.svc.store.since(made.created_at - timedelta(seconds=1)))[0]
    assert (run.origin.schedule, run.requester, run.workflow) == (made.id, REQUESTER, "digest")
    mine = Proc.of(one, clock())
    await mine.sch.store.save(made.model_copy(update={"state": "paused"}))
    await other.knows(made.id, present=False)
    await mine.sch.store.save((await mine.sch.store.get(made.id)).model_copy(update={"state": "active"}))
    await other.knows(made.id)
    await mine.sch.store.delete(made.id)
    await other.knows(made.id, present=False)
    await other.runner.stop()


async def test_a_process_killed_mid_firing_is_taken_over(pair: tuple[Harness, Harness], slack: FakeSlack) -> None:
    """A process claims a fire time and is killed (SIGKILL) while it checks the owner's rights; once its lease
    lapses the survivor fires that time — once."""
    one, _two = pair
    now = clock(T0 + timedelta(seconds=301))
    survivor = Proc.of(one, now, lease=1.0)
    await one.svc.access.channel_members(CHANNEL)  # the survivor knows the channel already
    made = await survivor.sch.store.create(schedule(rule=every(300)))
    slack.stall("conversations.members")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.integration.schedule_process", one.redis_url, one.prefix, slack.url,
        one.openai.url, str(int(now.now().timestamp())), env={**os.environ})
    key = f"{one.prefix}schedule:fire:{made.id}:{int((T0 + timedelta(seconds=300)).timestamp())}"
    import redis.asyncio as aioredis

    r = aioredis.from_url(one.redis_url)
    try:
        async def claimed() -> bool:
            value = await r.get(key)
            return value is not None and value.startswith(b"claimed:")

        await one.wait_for(claimed, what="the other process's claim", timeout=180)  # a subprocess on a loaded machine
        proc.send_signal(signal.SIGKILL)
        await proc.wait()
        slack.release()
        await survivor.runner.reload()
        assert await survivor.runner.tick() == 0  # its lease still holds: nobody fires yet
        await one.wait_for(survivor.runner.tick, what="the survivor taking over", timeout=20)
        assert (await r.get(key) or b"").startswith(b"done:fired:")
    finally:
        await r.aclose()
    assert len(await one.svc.store.since(T0)) == 1 and await one.maple.queue.depth() == 1


async def test_a_run_created_before_the_crash_is_not_created_again(pair: tuple[Harness, Harness]) -> None:
    """The firing process died after creating the run and before settling: the next one settles, no second run."""
    one, two = pair
    now = clock(T0 + timedelta(seconds=301))
    a, b = Proc.of(one, now), Proc.of(two, now)
    made = await a.sch.store.create(schedule(rule=every(300)))
    await a.runner.reload()
    assert await a.runner.tick() == 1
    import redis.asyncio as aioredis

    r = aioredis.from_url(one.redis_url)
    key = f"{one.prefix}schedule:fire:{made.id}:{int((T0 + timedelta(seconds=300)).timestamp())}"
    await r.delete(key)  # as if the settle never happened (the claim lapsed with the process)
    await r.aclose()
    await b.runner.reload()
    assert await b.runner.tick() == 1
    assert len(await one.svc.store.since(T0)) == 1 and await one.maple.queue.depth() == 1


async def test_misfires_on_start_up(pair: tuple[Harness, Harness], slack: FakeSlack) -> None:
    """Every process was down for an hour: on start-up the fire times still within the grace fire, the older ones
    are recorded as missed once (two processes start at the same time) and the owner is told once."""
    one, two = pair
    now = clock(T0 + timedelta(seconds=3610))
    procs = [Proc.of(one, now), Proc.of(two, now)]
    made = await procs[0].sch.store.create(schedule(rule=every(300), grace=600))
    await asyncio.gather(*(p.runner.start() for p in procs))
    keys = await fire_keys(one, made.id)
    fired = sorted(k for k, v in keys.items() if v.startswith("done:fired"))
    missed = sorted(k for k, v in keys.items() if v == "done:missed")
    assert [int((T0 + timedelta(seconds=s)).timestamp()) for s in (3300, 3600)] == fired
    assert len(missed) == 10 and len(await one.svc.store.since(T0)) == 2
    told = [p for p in slack.posted() if "missed 10 run(s)" in p.get("text", "")]
    assert len(told) == 1 and told[0]["channel"] == "D0REQUEST"
    state = (await procs[0].sch.store.states([made.id]))[made.id]
    assert any(rec.result == "missed" and rec.count == 10 for rec in state.history)
    for p in procs:
        await p.runner.stop()


async def test_a_revoked_role_pauses_the_schedule_and_tells_the_owner(
        slack: FakeSlack, openai_fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAPLE_TEST_OPENAI_KEY", "sk-test")
    slack.groups["S0STAFF"] = [REQUESTER]
    spec = spec_dict(roles={"user": ["S0STAFF"], "reviewer": ["U0REVIEW"], "admin": ["U0ADMIN"]})
    h = await Harness(slack=slack, openai=openai_fake, spec=spec, workers=0).start()
    try:
        now = clock(T0 + timedelta(seconds=301))
        proc = Proc.of(h, now)
        made = await proc.sch.store.create(schedule(rule=every(300)))
        await proc.runner.reload()
        slack.groups["S0STAFF"] = []  # the owner left the group that gave them the role
        h.maple.surface.forget_group("S0STAFF")
        assert await proc.runner.tick() == 0
        paused = await proc.sch.store.get(made.id)
        assert paused.state == "paused" and "no longer run" in str(text.note_msg(paused.paused_reason or ""))
        assert await h.svc.store.since(T0) == []
        told = [p for p in slack.posted("D0REQUEST") if "was paused" in p.get("text", "")]
        assert len(told) == 1
        await proc.runner.reload()
        assert proc.runner.job_ids() == set()  # a paused schedule has no job
    finally:
        await h.stop()
        await h.cleanup_redis()


async def test_an_owner_who_left_runs_nothing_even_named_by_id(
        slack: FakeSlack, openai_fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> None:
    """The owner holds the role by their user id (so it survives deactivation) and is still listed in the
    channel; their account is deactivated: the schedule pauses at its next fire time, nothing runs for them."""
    monkeypatch.setenv("MAPLE_TEST_OPENAI_KEY", "sk-test")
    h = await Harness(slack=slack, openai=openai_fake, spec=spec_dict(), workers=0).start()
    try:
        proc = Proc.of(h, clock(T0 + timedelta(seconds=301)))
        made = await proc.sch.store.create(schedule(rule=every(300)))
        await proc.runner.reload()
        slack.deactivated.add(REQUESTER)
        assert await proc.runner.tick() == 0
        paused = await proc.sch.store.get(made.id)
        assert paused.state == "paused" and "deactivated" in str(text.note_msg(paused.paused_reason or ""))
        assert await h.svc.store.since(T0) == []
    finally:
        await h.stop()
        await h.cleanup_redis()


async def test_apscheduler_wakes_both_processes_at_each_fire_time(pair: tuple[Harness, Harness]) -> None:
    """The real timer: two processes' APScheduler wake at every fire time of a one-second schedule (made
    directly in the store, below what people may ask for) and each fire time is fired once, with no gap."""
    one, two = pair
    from bot.core.ports import SystemClock

    procs = [Proc.of(one, SystemClock()), Proc.of(two, SystemClock())]
    for p in procs:
        await p.runner.start()
    start = procs[0].sch.now().replace(microsecond=0) + timedelta(seconds=2)
    made = await procs[0].sch.store.create(schedule(rule=every(1, anchor=start), since=start - timedelta(seconds=1)))

    async def enough() -> bool:
        return sum(v.startswith("done:fired") for v in (await fire_keys(one, made.id)).values()) >= 6

    await one.wait_for(enough, what="six firings", timeout=30)
    for p in procs:
        await p.runner.stop()
    keys = await fire_keys(one, made.id)
    times = sorted(keys)
    assert times == list(range(times[0], times[-1] + 1)) and times[0] == int(start.timestamp())
    assert all(keys[t].startswith("done:fired") for t in times)
    runs = await one.svc.store.since(start - timedelta(seconds=5))
    assert len(runs) == len(times) == len({r.origin.until for r in runs})
    assert all(r.state is RunState.QUEUED for r in runs)


async def test_clocks_that_straddle_a_minute_still_fire_once(pair: tuple[Harness, Harness]) -> None:
    """The claim is the scheduled fire time, not the wall-clock minute each process sees."""
    one, two = pair
    fire_at = T0 + timedelta(seconds=300)
    a = Proc.of(one, clock(fire_at + timedelta(seconds=59)))
    b = Proc.of(two, clock(fire_at + timedelta(seconds=61)))  # its clock is already in the next minute
    await a.sch.store.create(schedule(rule=every(300)))
    await a.runner.reload()
    await b.runner.reload()
    fired = await asyncio.gather(a.runner.tick(), b.runner.tick())
    assert sorted(fired) == [0, 1] and len(await one.svc.store.since(T0)) == 1


async def test_a_schedule_deleted_mid_firing_leaves_no_keys_without_expiry(pair: tuple[Harness, Harness]) -> None:
    """Deleted (on another process) between the claim of a fire time and its settle, or before its missed times are
    recorded: only the fire keys stay, and they expire — no state, log or cursor entry that would stay forever."""
    import redis.asyncio as aioredis

    from bot.core.schedule_models import FireRecord

    one, _two = pair
    assert one.maple is not None and one.maple.schedule_store is not None
    store = one.maple.schedule_store
    made = await store.create(schedule(rule=every(300)))
    at = T0 + timedelta(seconds=300)
    key = str(int(at.timestamp()))
    assert await store.claim(made.id, key, lease=60)
    await store.delete(made.id)
    await store.settle(made.id, key, record=FireRecord(at=at, result="fired", run_id="R-GONE"))
    late = str(int((at + timedelta(seconds=300)).timestamp()))
    assert await store.miss(made.id, [late], record=FireRecord(at=at + timedelta(seconds=300), result="missed")) == 0
    r = aioredis.from_url(one.redis_url)
    try:
        left = [k async for k in r.scan_iter(match=f"{one.prefix}schedule*")]
        forever = [k for k in left if not k.endswith(b":schedules") and await r.ttl(k) < 0]
        assert forever == [], forever
        assert not await r.hexists(f"{one.prefix}schedules:cursor", made.id)
    finally:
        await r.aclose()
