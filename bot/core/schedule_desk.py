"""The schedule commands: ``/maple schedule <when> <goal>``, ``/maple schedules`` and the Pause / Resume / Delete /
Run now buttons (only the owner or an admin). Slack-free: handlers render the rows and carry the clicks."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from bot.core import intake, text
from bot.core.classify import Classifier
from bot.core.errors import AccessDenied, ConflictError, InputError, NotFound
from bot.core.models import Origin
from bot.core.phrases import MIN_EVERY_SECONDS, read_when
from bot.core.recurrence import Recurrence
from bot.core.schedule_models import CONFIG_PREFIX, FireRecord, Schedule
from bot.core.schedules import Scheduling, fire, local, may_post
from bot.core.spec import MapleSpec
from bot.core.text import Msg

Verb = Literal["pause", "resume", "delete", "run"]
VERBS: tuple[Verb, ...] = ("pause", "resume", "delete", "run")
MAX_PER_USER = 25


class Zones(ABC):
    """People's own time zones (Slack's ``users.info``)."""

    @abstractmethod
    async def timezone(self, user: str) -> str | None: ...


@dataclass(frozen=True)
class ScheduleRow:
    """A schedule as listed: when it runs next, how its last firing went, and what the viewer may do."""

    schedule: Schedule
    next_at: datetime | None
    last: FireRecord | None
    may_change: bool
    may_start: bool

    def line(self) -> Msg:
        s = self.schedule
        zone = s.rule.tz
        last = (text.msg("schedule_last", result=self.last.result, at=local(self.last.at, zone)) if self.last
                else text.msg("schedule_last_none"))
        nxt = local(self.next_at, zone) if self.next_at and s.state == "active" else "—"
        parts = [text.msg("schedule_line", id=s.id, workflow=s.workflow, when=text.note_msg(s.description), zone=zone,
                          channel=text.Channel(s.channel), owner=text.User(s.owner), next=nxt, last=last)]
        if s.state == "paused":
            parts.append(text.msg("schedule_paused_line", why=text.note_msg(s.paused_reason or "paused")))
        if s.from_config:
            parts.append(text.msg("schedule_line_config"))
        return text.lines(parts)


@dataclass(kw_only=True)
class ScheduleDesk:
    sch: Scheduling
    zones: Zones
    classifier: Classifier | None = None
    max_per_user: int = MAX_PER_USER
    grace_seconds: int = 900

    async def create(self, *, user: str, origin: Origin, raw: str) -> Msg:
        svc = self.sch.svc
        zone = await self.zones.timezone(user) or svc.spec.tools.timezone
        now = self.sch.now()
        when = read_when(raw, tz=zone, now=now)
        self.sch.timetable.check(when.rule)
        times = self.sch.timetable.upcoming(when.rule, after=now, count=4)
        if not times:
            raise InputError(text.SCHEDULE_NEVER)
        if any((b - a).total_seconds() < MIN_EVERY_SECONDS for a, b in zip(times, times[1:], strict=False)):
            raise InputError(text.too_often(MIN_EVERY_SECONDS // 60))
        workflow, goal = self._workflow_and_goal(when.rest, said=raw)
        spec = svc.spec.workflow(workflow)
        if spec is None:
            raise InputError(text.unknown_workflow(workflow))
        goal = intake.check_goal(svc, goal)
        await intake.authorize_run(svc, user=user, workflow=spec)
        if not await may_post(svc, user=user, channel=origin.channel):
            raise AccessDenied(text.msg("schedule_cannot_post", channel=text.Channel(origin.channel)))
        if len([s for s in await self.sch.store.all() if s.owner == user]) >= self.max_per_user:
            raise InputError(text.msg("schedule_limit", count=self.max_per_user))
        schedule = await self.sch.store.create(Schedule(
            owner=user, workflow=spec.id, goal=goal, channel=origin.channel, team=origin.team, rule=when.rule,
            description=when.description, created_at=now, active_since=now, grace_seconds=self.grace_seconds))
        await svc.record("schedule.created", None, actor=user, attrs={
            "maple.schedule.id": schedule.id, "maple.workflow": spec.id, "maple.schedule.rule": when.rule.kind})
        return text.msg("schedule_created", id=schedule.id, workflow=spec.label, when=text.note_msg(when.description), zone=zone,
                        channel=text.Channel(origin.channel), times=text.lines([local(t, zone) for t in times[:3]], sep=", "))

    def _workflow_and_goal(self, rest: str, *, said: str) -> tuple[str, str]:
        """The workflow named with ``run``, else the one the classifier reads in everything the person said —
        the recurrence included, which is what makes "every weekday at 9:00 digest of #x" a digest."""
        if not rest.strip():
            raise InputError(text.SCHEDULE_NO_GOAL)
        head, _, tail = rest.strip().partition(" ")
        if head.lower() == "run":
            workflow, _, goal = tail.strip().partition(" ")
            if not workflow or not goal.strip():
                raise InputError(text.SCHEDULE_NO_GOAL)
            return workflow.lower(), goal.strip()
        found = self.classifier.classify(said) if self.classifier else None
        if found is None or not found.workflow or found.confidence < self.sch.svc.spec.classify_threshold:
            raise InputError(text.schedule_which_workflow(rest))
        return found.workflow, rest.strip()

    async def rows(self, user: str, *, everyone: bool = False) -> list[ScheduleRow]:
        admin = await self.sch.svc.access.is_admin(user)
        listed = [s for s in await self.sch.store.all() if s.owner == user or (everyone and admin)]
        listed.sort(key=lambda s: (s.owner != user, s.created_at))
        states = await self.sch.store.states([s.id for s in listed])
        now = self.sch.now()
        return [ScheduleRow(schedule=s, next_at=self.sch.timetable.next_after(s.rule, now),
                            last=states[s.id].latest if s.id in states else None,
                            may_change=(s.owner == user or admin) and not s.from_config,
                            may_start=s.owner == user or admin) for s in listed[:50]]

    async def listing(self, user: str) -> tuple[Msg, list[ScheduleRow]]:
        admin = await self.sch.svc.access.is_admin(user)
        rows = await self.rows(user, everyone=True)
        if not rows:
            return text.SCHEDULES_NONE, []
        return text.msg("schedules_header_all" if admin else "schedules_header"), rows

    async def act(self, *, user: str, schedule_id: str, verb: Verb) -> Msg:
        """A button: only the owner or an admin; config-file schedules change only in the config."""
        try:
            schedule = await self.sch.store.get(schedule_id)
        except NotFound:
            return text.schedule_not_found(schedule_id)
        if user != schedule.owner and not await self.sch.svc.access.is_admin(user):
            raise AccessDenied(text.SCHEDULE_NOT_YOURS)
        if schedule.from_config and verb != "run":
            return text.msg("schedule_config_managed", id=schedule.id)
        attrs = {"maple.schedule.id": schedule.id, "maple.workflow": schedule.workflow}
        if verb == "run":  # a click is input: it takes the clicker's start limits, as a typed goal does
            await intake.limit_starts(self.sch.svc, user=user, team=schedule.team)
            record = await fire(self.sch, schedule, self.sch.now(), manual=True)
            if record is None or record.run_id is None:
                return text.msg("schedule_already", id=schedule.id)
            return text.msg("schedule_started", id=schedule.id, run=record.run_id)
        if verb == "delete":
            await self.sch.store.delete(schedule.id)
            await self.sch.svc.record("schedule.deleted", None, actor=user, attrs=attrs)
            return text.msg("schedule_deleted", id=schedule.id)
        now = self.sch.now()

        def change(s: Schedule) -> None:
            if verb == "pause":
                s.state, s.paused_reason = "paused", text.keep(text.msg("schedule_paused_by_owner", user=text.User(user)))
            elif s.state != "active":
                s.state, s.paused_reason, s.active_since = "active", None, now

        changed = await self._change(schedule.id, change)
        await self.sch.svc.record(f"schedule.{'paused' if verb == 'pause' else 'resumed'}", None, actor=user,
                                  attrs=attrs)
        if verb == "pause":
            return text.msg("schedule_paused", id=changed.id)
        nxt = self.sch.timetable.next_after(changed.rule, now)
        return text.msg("schedule_resumed", id=changed.id, next=local(nxt, changed.rule.tz) if nxt else "—")

    async def _change(self, schedule_id: str, change: Callable[[Schedule], None]) -> Schedule:
        for _ in range(5):
            current = await self.sch.store.get(schedule_id)
            change(current)
            try:
                return await self.sch.store.save(current)
            except ConflictError:
                continue
        raise ConflictError(f"schedule {schedule_id} kept changing")


async def sync_config(sch: Scheduling, spec: MapleSpec) -> None:
    """Config-file schedules live in the store too (so every process fires them the same way), marked as managed
    by config: created when new, updated when the file changed, removed when the file no longer has them."""
    now = sch.now()
    stored = {s.id: s for s in await sch.store.all() if s.from_config}
    wanted: set[str] = set()
    for item in spec.schedules:
        sid = CONFIG_PREFIX + item.id
        wanted.add(sid)
        fields = {"owner": item.requester, "workflow": item.workflow, "goal": item.goal, "channel": item.channel,
                  "rule": Recurrence(kind="cron", cron=item.cron, tz=spec.tools.timezone),
                  "description": text.note("when_cron", cron=item.cron)}
        existing = stored.get(sid)
        try:
            if existing is None:
                await sch.store.create(Schedule(id=sid, source="config", created_at=now, active_since=now, **fields))
            elif any(getattr(existing, k) != v for k, v in fields.items()):
                await sch.store.save(existing.model_copy(update=fields))
        except ConflictError:
            continue  # another process is doing the same
    for sid in set(stored) - wanted:
        await sch.store.delete(sid)

