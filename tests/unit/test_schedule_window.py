"""How far back a schedule's first firing reaches, computed with the real timetable at fixed instants: one whole
period of the rule, whether the firing is on a fire time or a "run now" just before or just after one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.core.phrases import read_when
from bot.core.recurrence import Recurrence
from bot.core.schedules import first_period, previous_fire_time
from integrations.timetable import ApsTimetable

TORONTO = "America/Toronto"
# Wednesday 2 December 2026 and Monday 7 December 2026; Toronto is on EST (UTC-5), so 9:00 there is 14:00 UTC.
WED_0900 = datetime(2026, 12, 2, 14, 0, tzinfo=UTC)
MON_0900 = datetime(2026, 12, 7, 14, 0, tzinfo=UTC)
FRI_0900 = datetime(2026, 12, 4, 14, 0, tzinfo=UTC)


def weekdays_at_nine() -> Recurrence:
    return read_when("every weekday at 9:00 digest", tz=TORONTO, now=WED_0900 - timedelta(days=7)).rule


def test_run_now_just_after_a_fire_time_covers_a_whole_day() -> None:
    at = WED_0900 + timedelta(minutes=5)
    assert first_period(ApsTimetable(), weekdays_at_nine(), at) == timedelta(days=1)


def test_run_now_just_before_a_fire_time_covers_a_whole_period() -> None:
    at = MON_0900 - timedelta(minutes=5)  # Friday 9:00 to Monday 9:00 is one period of a weekday rule
    assert first_period(ApsTimetable(), weekdays_at_nine(), at) == timedelta(days=3)


def test_a_first_firing_on_its_fire_time_covers_the_time_since_the_fire_time_before() -> None:
    table, rule = ApsTimetable(), weekdays_at_nine()
    assert previous_fire_time(table, rule, MON_0900) == FRI_0900
    assert first_period(table, rule, MON_0900) == MON_0900 - FRI_0900
    assert first_period(table, rule, WED_0900) == timedelta(days=1)


def test_a_rule_that_fires_every_minute_reaches_back_one_minute() -> None:
    rule = Recurrence(kind="cron", tz="UTC", cron="* * * * *")
    at = WED_0900 + timedelta(seconds=30)
    assert previous_fire_time(ApsTimetable(), rule, at) == WED_0900
    assert first_period(ApsTimetable(), rule, at) == timedelta(minutes=1)


def test_an_interval_whose_first_fire_time_is_still_ahead_reaches_back_until_then() -> None:
    rule = Recurrence(kind="interval", every_seconds=7200, anchor=WED_0900 + timedelta(hours=1))
    assert previous_fire_time(ApsTimetable(), rule, WED_0900) is None
    assert first_period(ApsTimetable(), rule, WED_0900) == timedelta(hours=1)


def test_a_yearly_rule_reaches_back_at_most_31_days() -> None:
    rule = Recurrence(kind="cron", tz="UTC", cron="0 9 1 1 *")  # 1 January: none in the 31 days before June
    assert first_period(ApsTimetable(), rule, datetime(2026, 6, 1, 12, 0, tzinfo=UTC)) == timedelta(days=31)
