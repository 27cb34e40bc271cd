"""Firing schedules: exactly once per scheduled fire time, across every Maple process, on behalf of the owner.

A firing is a run submitted through the same core as a goal typed in Slack: the owner's roles are checked at fire
time (a revoked role pauses the schedule and tells the owner), then routing, policy, budgets, review and the audit
trail apply as for any run. The protocol, for one (schedule, fire time):

1. **claim** the fire time with a lease (one process at a time; a settled time is never claimed again);
2. if the run of this fire time already exists (a process died after creating it), just settle;
3. re-check the schedule and the owner's rights; on a denial pause the schedule and tell the owner;
4. check the lease is still ours, then **create the run** — its id derives from the schedule's secret salt and
   the fire time, so the run store refuses a second one whoever makes it — with its ``schedule.fired`` audit
   event written on the run (flushed by the first job);
5. **settle** the fire time (the catch-up cursor moves on).

A process killed between 1 and 5 leaves a claim that lapses; the next process's sweep takes it over (within the
grace) and finds the run, or creates it. Fire times every process slept through are fired on start-up while
within the schedule's grace, else recorded as missed — once — and the owner is told.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from bot.core import intake, text
from bot.core.errors import AccessDenied, ConflictError, InputError, MapleError, NotFound
from bot.core.models import AuditIntent, Origin
from bot.core.notify import reader_language
from bot.core.ports import View
from bot.core.recurrence import Recurrence, Timetable
from bot.core.schedule_models import (
    FireRecord,
    FireState,
    Schedule,
    ScheduleStore,
    epoch,
    fire_key,
    fire_run_id,
)
from bot.core.services import Services
from bot.core.status import local_time
from bot.core.text import Msg

log = logging.getLogger("maple.schedules")
LOOKBACK = timedelta(days=35)  # fire times older than this are not looked at (they were missed long ago)
MAX_TIMES = 20_000


@dataclass(kw_only=True)
class Scheduling:
    """What schedules run with: the core's services, the schedule store and the timetable."""

    svc: Services
    store: ScheduleStore
    timetable: Timetable
    lease_seconds: float = 60.0
    fired: list[FireRecord] = field(default_factory=list)  # what this process fired (for logs and benchmarks)

    def now(self) -> datetime:
        return self.svc.clock.now()


async def fire(sch: Scheduling, schedule: Schedule, at: datetime, *, manual: bool = False) -> FireRecord | None:
    """Fire ``schedule`` for its fire time ``at`` unless another process has or is doing it; the record, or None
    when this process did not settle it."""
    at = epoch(at)
    key = fire_key(at, manual=manual)
    token = await sch.store.claim(schedule.id, key, lease=sch.lease_seconds)
    if token is None:
        return None
    run_id = fire_run_id(schedule, at, manual=manual)
    if await _run_exists(sch, run_id):
        return await _settle(sch, schedule, key, FireRecord(at=at, result="fired", run_id=run_id, manual=manual))
    try:
        current = await sch.store.get(schedule.id)
    except NotFound:
        return None  # deleted meanwhile: the claim lapses, nothing fires
    if current.state != "active" and not manual:
        return await _settle(sch, current, key, FireRecord(at=at, result="paused", manual=manual))
    why = await denial(sch, current)
    if why is not None:
        await pause(sch, current, why=why)
        await _tell(sch, current, text.schedule_revoked(current.id, current.workflow, why), f"revoked:{key}")
        await sch.svc.record("schedule.paused", None, actor=current.owner, attrs=_attrs(current, at, "revoked"))
        return await _settle(sch, current, key, FireRecord(at=at, result="paused", manual=manual))
    if not await sch.store.holds(current.id, key, token):
        return None  # our lease lapsed: whoever holds it now fires (the same run id)
    return await _submit(sch, current, at=at, key=key, run_id=run_id, manual=manual)


async def _submit(sch: Scheduling, schedule: Schedule, *, at: datetime, key: str, run_id: str,
                  manual: bool) -> FireRecord | None:
    since = await _window_start(sch, schedule, at)
    until = sch.now() if manual else at  # a start by hand covers everything up to the click
    origin = Origin(kind="schedule", channel=schedule.channel, team=schedule.team, schedule=schedule.id,
                    since=since.timestamp(), until=until.timestamp())
    late_ms = max(0, int((sch.now() - at).total_seconds() * 1000))
    attrs = {**_attrs(schedule, at, "fired"), "maple.schedule.lateness_ms": late_ms, "maple.schedule.manual": manual}
    intent = AuditIntent(id=f"{run_id}:schedule.fired", kind="schedule.fired", actor=schedule.owner, attrs=attrs)
    try:
        await intake.submit(sch.svc, intake.Intake(requester=schedule.owner, origin=origin, goal=schedule.goal,
                                                   workflow=schedule.workflow, run_id=run_id, audit=(intent,)))
    except ConflictError:
        pass  # another process created this very run: it is fired
    except (InputError, AccessDenied) as exc:
        await _tell(sch, schedule, text.schedule_revoked(schedule.id, schedule.workflow, text.as_msg(exc)),
                    f"refused:{key}")
        return await _settle(sch, schedule, key, FireRecord(at=at, result="refused", manual=manual))
    record = FireRecord(at=at, result="fired", run_id=run_id, manual=manual)
    sch.fired.append(record)
    return await _settle(sch, schedule, key, record)


async def _settle(sch: Scheduling, schedule: Schedule, key: str, record: FireRecord) -> FireRecord | None:
    return record if await sch.store.settle(schedule.id, key, record=record) else None


async def _run_exists(sch: Scheduling, run_id: str) -> bool:
    try:
        await sch.svc.store.get(run_id)
    except NotFound:
        return False
    return True


async def _window_start(sch: Scheduling, schedule: Schedule, at: datetime) -> datetime:
    """A firing covers the period since the schedule's previous firing. The first covers one whole period: a
    scheduled first firing the time since the fire time before it; a first "run now" between fire times one
    period back from now (at 8:55 or at 9:05, a 9:00 daily digest covers the day before, not five minutes)."""
    state = (await sch.store.states([schedule.id])).get(schedule.id, FireState())
    if state.last_fired is not None and state.last_fired < at:
        return state.last_fired
    return at - first_period(sch.timetable, schedule.rule, at)


def first_period(timetable: Timetable, rule: Recurrence, at: datetime) -> timedelta:
    """How far back the first firing at ``at`` reaches: one period of the rule, at most 31 days."""
    just_before = at - timedelta(microseconds=1)
    nxt = timetable.next_after(rule, just_before)
    prev = previous_fire_time(timetable, rule, at)
    if prev is None:
        period = (nxt - at) if nxt is not None and nxt > at else timedelta(days=1)
    elif nxt == at:  # a fire time: back to the one before
        period = at - prev
    else:
        period = (nxt - prev) if nxt is not None else at - prev
    return min(period, timedelta(days=31))


def previous_fire_time(timetable: Timetable, rule: Recurrence, at: datetime) -> datetime | None:
    """The rule's latest fire time strictly before ``at``, looked for at most 31 days back (None: none there).
    The search widens step by step, so a rule that fires every minute costs an hour of fire times, not a month."""
    until = at - timedelta(microseconds=1)
    for back in (timedelta(hours=1), timedelta(days=1), timedelta(days=7), timedelta(days=31)):
        times = timetable.between(rule, after=at - back, until=until, limit=1)
        if times:
            return times[-1]
    return None


async def denial(sch: Scheduling, schedule: Schedule) -> Msg | None:
    """Why the owner may not run this schedule now (None when they may): the owner's account must still be
    active (named by id in a role or not), the workflow must exist, the owner must hold one of its roles and may
    post where it posts."""
    svc = sch.svc
    if not await svc.access.is_active(schedule.owner):  # left the workspace: nothing runs on their behalf
        return text.msg("schedule_owner_gone")
    workflow = svc.spec.workflow(schedule.workflow)
    if workflow is None:
        return text.msg("schedule_no_workflow", workflow=schedule.workflow)
    if not await svc.access.may_run(schedule.owner, workflow):
        return text.msg("schedule_not_allowed", workflow=workflow.label)
    if not await may_post(svc, user=schedule.owner, channel=schedule.channel):
        return text.msg("schedule_cannot_post", channel=text.Channel(schedule.channel))
    return None


async def may_post(svc: Services, *, user: str, channel: str) -> bool:
    """A person may post in a channel they are a member of, and in their own DM with Maple."""
    if channel.startswith("D"):
        return await svc.surface.open_dm(user=user) == channel
    return user in await svc.access.channel_members(channel)


async def pause(sch: Scheduling, schedule: Schedule, *, why: Msg) -> Schedule:
    for _ in range(5):
        current = await sch.store.get(schedule.id)
        current.state, current.paused_reason = "paused", text.keep(why)
        try:
            return await sch.store.save(current)
        except ConflictError:
            continue
    raise ConflictError(f"schedule {schedule.id} kept changing")


async def catch_up(sch: Scheduling, schedules: list[Schedule]) -> list[FireRecord]:
    """Fire every due fire time of ``schedules`` that nobody settled or holds: within its grace it fires,
    older ones are recorded as missed (once, by whichever process marks them) and the owner is told."""
    now = sch.now()
    cursors = await sch.store.cursors([s.id for s in schedules if s.state == "active"])
    due: dict[str, list[datetime]] = {}
    for schedule in schedules:
        if schedule.state != "active":
            continue
        due[schedule.id] = _candidates(sch, schedule, cursors.get(schedule.id), now)
    pairs = [(sid, fire_key(t)) for sid, times in due.items() for t in times[-500:]]
    open_keys = await sch.store.open_keys(pairs) if pairs else set()
    done: list[FireRecord] = []
    for schedule in schedules:
        times = due.get(schedule.id) or []
        pending = [t for t in times[-500:] if (schedule.id, fire_key(t)) in open_keys]
        grace = now - timedelta(seconds=schedule.grace_seconds)
        late = [t for t in pending if t < grace]
        if late:
            await _missed(sch, schedule, late, total=len(times) - len(times[-500:]) + len(late))
        for at in (t for t in pending if t >= grace):
            try:
                record = await fire(sch, schedule, at)
            except MapleError as exc:
                log.error("schedule firing failed", extra={"schedule": schedule.id, "error": type(exc).__name__})
                continue
            if record is not None:
                done.append(record)
    return done


def _candidates(sch: Scheduling, schedule: Schedule, last: datetime | None, now: datetime) -> list[datetime]:
    """Fire times to look at: from the cursor (less a grace and a lease, for claims that lapsed) to now."""
    back = timedelta(seconds=schedule.grace_seconds + 2 * sch.lease_seconds)
    start = schedule.active_since
    if last is not None:
        start = max(start, min(last, now - back))
    start = max(start, now - LOOKBACK)
    return sch.timetable.between(schedule.rule, after=start, until=now, limit=MAX_TIMES)


async def _missed(sch: Scheduling, schedule: Schedule, late: list[datetime], *, total: int) -> None:
    record = FireRecord(at=late[-1], result="missed", count=len(late))
    count = await sch.store.miss(schedule.id, [fire_key(t) for t in late], record=record)
    if count == 0:
        return  # another process marked them (and told the owner)
    count += max(0, total - len(late))
    zone = schedule.rule.tz
    message = text.msg("schedule_missed", id=schedule.id, workflow=schedule.workflow, count=count,
                       first=local(late[0], zone), last=local(late[-1], zone),
                       grace=max(1, schedule.grace_seconds // 60))
    await _tell(sch, schedule, message, f"missed:{fire_key(late[-1])}")
    await sch.svc.record("schedule.missed", None, actor=schedule.owner,
                         attrs={**_attrs(schedule, late[-1], "missed"), "maple.schedule.missed.count": count})


async def _tell(sch: Scheduling, schedule: Schedule, message: Msg, effect: str) -> None:
    try:
        dm = await sch.svc.surface.open_dm(user=schedule.owner)
        lang = await reader_language(sch.svc, schedule.owner)
        await sch.svc.surface.post(channel=dm, view=View(kind="notice", text=message, language=lang), run_id="",
                                   effect=f"schedule:{schedule.id}:{effect}")
    except MapleError as exc:
        log.warning("could not tell a schedule's owner", extra={"schedule": schedule.id, "error": type(exc).__name__})


def _attrs(schedule: Schedule, at: datetime, outcome: str) -> dict[str, object]:
    return {"maple.schedule.id": schedule.id, "maple.workflow": schedule.workflow,
            "maple.schedule.fire_at": at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "maple.schedule.outcome": outcome}


def local(at: datetime, zone: str) -> Msg:
    """A time as a person in ``zone`` reads it, in the reader's language: Mon 15 Mar 2027 09:00 EDT."""
    return local_time(at, zone)
