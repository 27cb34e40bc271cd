"""The ``Timetable`` port on APScheduler 3's triggers: the same code computes the times a person is shown and the
times a schedule fires.

Two corrections to APScheduler 3's crontab reading, so a cron expression means what it means to cron:
- the day-of-week field counts from Sunday (``0`` and ``7`` are Sunday, ``1`` is Monday; APScheduler 3 counts
  from Monday), so numbers, ranges and steps are rewritten as day names before APScheduler sees them;
- a wall-clock time that happens twice when clocks fall back fires once (its first occurrence), unless the hour
  field is ``*`` (an hourly rule keeps firing every real hour).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.core import text
from bot.core.errors import InputError
from bot.core.recurrence import Recurrence, Timetable

DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_NAMES = {name: i for i, name in enumerate(DAYS)}
_PART = re.compile(r"^(\*|[0-7a-z]{1,3})(?:-([0-7a-z]{1,3}))?(?:/(\d{1,2}))?$")
FIELDS = ("minute", "hour", "day of month", "month", "day of week")
_TICK = timedelta(microseconds=1)


def _day(token: str) -> int:
    if token.isdigit() and int(token) <= 7:
        return int(token) % 7
    if token in _NAMES:
        return _NAMES[token]
    raise ValueError(token)


def weekdays(field: str) -> str:
    """A crontab day-of-week field (Sunday = 0 or 7) as an explicit list of day names APScheduler reads."""
    field = field.lower()
    if field in ("*", "?"):
        return "*"
    days: set[int] = set()
    for part in field.split(","):
        match = _PART.match(part)
        if match is None:
            raise ValueError(part)
        start, end, step = match.group(1), match.group(2), int(match.group(3) or 1)
        if step < 1:
            raise ValueError(part)
        first = 0 if start == "*" else _day(start)
        if end:
            last = _day(end)
            last = 7 if last == 0 and first > 0 else last  # a range may end on Sunday: 1-7, mon-sun
        else:
            last = 6 if start == "*" or match.group(3) else first
        if last < first:
            raise ValueError(part)
        days.update(d % 7 for d in range(first, last + 1, step))
    return ",".join(DAYS[d] for d in sorted(days))


class Aps:
    """Triggers built once per rule (rules are frozen, so they key the cache)."""

    def __init__(self) -> None:
        self._cache: dict[Recurrence, tuple[BaseTrigger, bool]] = {}

    def trigger(self, rule: Recurrence) -> tuple[BaseTrigger, bool]:
        """(trigger, fires once in a repeated hour)."""
        cached = self._cache.get(rule)
        if cached is None:
            cached = self._build(rule)
            if len(self._cache) > 50_000:
                self._cache.clear()
            self._cache[rule] = cached
        return cached

    @staticmethod
    def _build(rule: Recurrence) -> tuple[BaseTrigger, bool]:
        if rule.kind == "interval":
            assert rule.every_seconds is not None and rule.anchor is not None
            return IntervalTrigger(seconds=rule.every_seconds, start_date=rule.anchor, timezone=UTC), False
        fields = (rule.cron or "").split()
        if len(fields) != 5:
            raise InputError(text.cron_fields(len(fields)))
        minute, hour, dom, month, dow = fields
        try:
            dow = weekdays(dow)
        except ValueError as exc:
            raise InputError(text.cron_field_bad(FIELDS[4], dow, "not a day of the week")) from exc
        for name, value in zip(FIELDS[:4], (minute, hour, dom, month), strict=True):
            try:
                CronTrigger(**{_KW[name]: value}, timezone=ZoneInfo(rule.tz))
            except ValueError as exc:
                raise InputError(text.cron_field_bad(name, value, str(exc).split("(")[0].strip())) from exc
        trigger = CronTrigger(minute=minute, hour=hour, day=dom, month=month, day_of_week=dow,
                              timezone=ZoneInfo(rule.tz))
        return trigger, hour not in ("*", "*/1")


_KW = {"minute": "minute", "hour": "hour", "day of month": "day", "month": "month"}


class ApsTimetable(Timetable):
    def __init__(self) -> None:
        self._aps = Aps()

    def check(self, rule: Recurrence) -> None:
        self._aps.trigger(rule)

    def next_after(self, rule: Recurrence, after: datetime) -> datetime | None:
        trigger, once = self._aps.trigger(rule)
        at = after
        for _ in range(4):
            found = trigger.get_next_fire_time(None, at + _TICK)
            if found is None:
                return None
            found = found.astimezone(UTC)
            if not (once and _second_occurrence(found, rule.tz)):
                return found
            at = found
        return None


def _second_occurrence(at: datetime, tz: str) -> bool:
    """Is ``at`` the second time its wall-clock time happens in ``tz`` (the repeated hour of a fall-back)?"""
    return at.astimezone(ZoneInfo(tz)).fold == 1
