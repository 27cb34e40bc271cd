"""Reading when a schedule runs, in the person's own zone, with the fire times the real timetable computes —
across daylight-saving changes — and errors that name the part not understood."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.core import text
from bot.core.errors import InputError
from bot.core.phrases import read_when
from integrations.timetable import ApsTimetable, weekdays

TORONTO, PARIS, TOKYO, LONDON = "America/Toronto", "Europe/Paris", "Asia/Tokyo", "Europe/London"
# Friday 12 March 2027, 15:00 UTC: Toronto springs forward on Sunday 14 March; Paris/London on 28 March.
FRI = datetime(2027, 3, 12, 15, 0, tzinfo=UTC)
# Saturday 30 October 2027: Paris falls back on Sunday 31 October; Toronto on 7 November.
AUTUMN = datetime(2027, 10, 30, 12, 0, tzinfo=UTC)
TABLE = "%a %d %b %H:%M %Z"

CASES = [
    ("every weekday at 9:00 digest of this channel", TORONTO, FRI, "every weekday (Monday to Friday) at 09:00",
     "digest of this channel", ["Mon 15 Mar 09:00 EDT", "Tue 16 Mar 09:00 EDT", "Wed 17 Mar 09:00 EDT"]),
    ("daily 17:30 recap", TORONTO, FRI, "every day at 17:30", "recap",  # across the spring-forward
     ["Fri 12 Mar 17:30 EST", "Sat 13 Mar 17:30 EST", "Sun 14 Mar 17:30 EDT"]),
    ("every monday at 8am weekly report", TORONTO, FRI, "every Monday at 08:00", "weekly report",
     ["Mon 15 Mar 08:00 EDT", "Mon 22 Mar 08:00 EDT", "Mon 29 Mar 08:00 EDT"]),
    ("every 2 hours check the queue", TORONTO, FRI, "every 2 hours", "check the queue",
     ["Fri 12 Mar 12:00 EST", "Fri 12 Mar 14:00 EST", "Fri 12 Mar 16:00 EST"]),
    ("on the 1st of each month run digest monthly recap", TORONTO, FRI,
     "on day 1 of every month at 09:00 (no time given)", "run digest monthly recap",
     ["Thu 01 Apr 09:00 EDT", "Sat 01 May 09:00 EDT", "Tue 01 Jun 09:00 EDT"]),
    ("0 9 * * 1-5 standup notes", TORONTO, FRI, "cron `0 9 * * 1-5`", "standup notes",  # 1-5 is Mon-Fri, as in cron
     ["Mon 15 Mar 09:00 EDT", "Tue 16 Mar 09:00 EDT", "Wed 17 Mar 09:00 EDT"]),
    ("cron 0 9 * * 0 sunday notes", PARIS, FRI, "cron `0 9 * * 0`", "sunday notes",  # 0 is Sunday
     ["Sun 14 Mar 09:00 CET", "Sun 21 Mar 09:00 CET", "Sun 28 Mar 09:00 CEST"]),
    ("every mon and thu at 14:15: sync", LONDON, FRI, "every Monday and Thursday at 14:15", "sync",
     ["Mon 15 Mar 14:15 GMT", "Thu 18 Mar 14:15 GMT", "Mon 22 Mar 14:15 GMT"]),
    ("monthly on the 15th at 10am payroll", TOKYO, FRI, "on day 15 of every month at 10:00", "payroll",
     ["Mon 15 Mar 10:00 JST", "Thu 15 Apr 10:00 JST", "Sat 15 May 10:00 JST"]),
    ("on mondays at noon lunch", TORONTO, FRI, "every Monday at 12:00", "lunch",
     ["Mon 15 Mar 12:00 EDT", "Mon 22 Mar 12:00 EDT", "Mon 29 Mar 12:00 EDT"]),
    ("every weekend at 10 am chores", TORONTO, FRI, "every Saturday and Sunday at 10:00", "chores",
     ["Sat 13 Mar 10:00 EST", "Sun 14 Mar 10:00 EDT", "Sat 20 Mar 10:00 EDT"]),
    ("daily at 2:30 backup check", TORONTO, FRI, "every day at 02:30", "backup check",  # 02:30 does not exist on 14 Mar
     ["Sat 13 Mar 02:30 EST", "Sun 14 Mar 03:30 EDT", "Mon 15 Mar 02:30 EDT"]),
    ("daily at 2:30 backup check", PARIS, AUTUMN, "every day at 02:30", "backup check",  # 02:30 happens twice: once
     ["Sun 31 Oct 02:30 CEST", "Mon 01 Nov 02:30 CET", "Tue 02 Nov 02:30 CET"]),
    ("hourly ping", PARIS, datetime(2027, 10, 30, 23, 30, tzinfo=UTC), "every hour", "ping",  # every real hour
     ["Sun 31 Oct 02:30 CEST", "Sun 31 Oct 02:30 CET", "Sun 31 Oct 03:30 CET"]),
    ("every day at 9 pm wrap-up", TOKYO, FRI, "every day at 21:00", "wrap-up",
     ["Sat 13 Mar 21:00 JST", "Sun 14 Mar 21:00 JST", "Mon 15 Mar 21:00 JST"]),
]


@pytest.mark.parametrize(("phrase", "zone", "now", "description", "rest", "times"), CASES)
def test_phrasings_read_in_the_persons_zone(phrase: str, zone: str, now: datetime, description: str, rest: str,
                                            times: list[str]) -> None:
    when = read_when(phrase, tz=zone, now=now)
    table = ApsTimetable()
    table.check(when.rule)
    got = [t.astimezone(ZoneInfo(zone)).strftime(TABLE) for t in table.upcoming(when.rule, after=now, count=3)]
    assert (str(text.note_msg(when.description)), when.rest, got) == (description, rest, times)


@pytest.mark.parametrize(("phrase", "french"), [
    ("every weekday at 9:00 digest", "chaque jour de semaine (du lundi au vendredi) à 09:00"),
    ("every monday, wednesday and friday at 8am digest", "chaque lundi, mercredi et vendredi à 08:00"),
    ("every tuesday digest", "chaque mardi à 09:00 (aucune heure indiquée)"),
    ("every 2 hours digest", "toutes les 2 heures"),
    ("on the 31st of each month at 17:30 digest", "le 31 de chaque mois à 17:30 (les mois sans ce jour sont sautés)"),
    ("0 9 * * 1-5 digest", "cron `0 9 * * 1-5`"),
])
def test_a_schedule_is_described_in_the_readers_language(phrase: str, french: str) -> None:
    when = read_when(phrase, tz="America/Toronto", now=datetime(2026, 11, 23, 12, 0, tzinfo=ZoneInfo("UTC")))
    assert str(text.in_language(text.note_msg(when.description), "fr")) == french


def test_nine_oclock_stays_nine_oclock_across_the_change() -> None:
    """The wall-clock time is kept; the UTC instant moves by the offset change."""
    rule = read_when("every weekday at 9:00 x", tz=TORONTO, now=FRI).rule
    fri, mon = ApsTimetable().upcoming(rule, after=datetime(2027, 3, 12, 13, tzinfo=UTC), count=2)
    assert (fri.hour, mon.hour) == (14, 13)


@pytest.mark.parametrize(("phrase", "part"), [
    ("every fortnight at 9 report", "fortnight"),
    ("tomorrow at 9 report", "tomorrow"),
    ("every day at 25:00 report", "25:00"),
    ("every 3 fortnights report", "fortnights"),
    ("on the 32nd of each month report", "32nd"),
    ("0 9 * * funday report", "funday"),
    ("0 61 * * * report", "61"),
    ("every day at 13pm report", "13pm"),
    ("every monday at half past report", "half"),
])
def test_what_is_not_understood_is_named(phrase: str, part: str) -> None:
    with pytest.raises(InputError) as caught:
        ApsTimetable().check(read_when(phrase, tz=TORONTO, now=FRI).rule)
    assert part in str(caught.value)


def test_too_often_and_too_few_fields() -> None:
    with pytest.raises(InputError, match="at most every 5 minutes"):
        read_when("every 1 minutes x", tz=TORONTO, now=FRI)
    with pytest.raises(InputError, match="5 fields"):
        ApsTimetable().check(read_when("0 9 * x", tz=TORONTO, now=FRI).rule.model_copy(update={"cron": "0 9 *"}))


@pytest.mark.parametrize(("field", "names"), [("1-5", "mon,tue,wed,thu,fri"), ("0", "sun"), ("7", "sun"),
                                              ("1-7", "sun,mon,tue,wed,thu,fri,sat"), ("*/2", "sun,tue,thu,sat"),
                                              ("sat,sun", "sun,sat"), ("*", "*")])
def test_day_of_week_counts_from_sunday_as_in_cron(field: str, names: str) -> None:
    assert weekdays(field) == names
