"""Reading when a schedule should run, as people write it, into a ``Recurrence`` in their own time zone.

    every weekday at 9:00 · daily 17:30 · every monday at 8am · every mon and thu at 14:15 · every 2 hours ·
    hourly · on the 1st of each month (at 9:00) · monthly on the 15th at 10am · cron 0 9 * * 1-5 · 0 9 * * 1-5

Pure and bounded: a few dozen words at most are looked at, no backtracking. ``read_when`` returns the rule,
a plain description of it and the rest of the text (the goal); anything it does not understand raises
``InputError`` with a message naming the part it did not understand.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.core import text
from bot.core.errors import InputError
from bot.core.recurrence import Recurrence

MIN_EVERY_SECONDS = 300
DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
LONG_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_DAY_WORDS = {**{d: d for d in DAY_NAMES}, **{n.lower(): n.lower()[:3] for n in LONG_DAYS},
              "tues": "tue", "wednes": "wed", "thur": "thu", "thurs": "thu"}
_TIME = re.compile(r"^(\d{1,2})(?::(\d{2}))?\s*(am|pm|a\.m\.|p\.m\.)?$")
_CRONISH = re.compile(r"^[0-9*/,\-]+$")
_ORDINAL = re.compile(r"^(\d{1,2})(st|nd|rd|th)?$")
_UNITS = {"minute": 60, "minutes": 60, "min": 60, "mins": 60, "hour": 3600, "hours": 3600, "hr": 3600,
          "hrs": 3600, "h": 3600}
_TRAIL = ",.;:!"
DEFAULT_TIME = (9, 0)


@dataclass(frozen=True)
class When:
    rule: Recurrence
    description: str
    rest: str


class _Words:
    """The words of the text with a cursor; ``low(i)`` is a word lower-cased without trailing punctuation."""

    def __init__(self, raw: str) -> None:
        self.raw = raw
        self.spans = [(m.start(), m.end()) for m in re.finditer(r"\S+", raw[:2000])][:400]
        self.i = 0

    def low(self, offset: int = 0) -> str:
        j = self.i + offset
        if j >= len(self.spans):
            return ""
        start, end = self.spans[j]
        return self.raw[start:end].lower().rstrip(_TRAIL)

    def word(self, offset: int = 0) -> str:
        j = self.i + offset
        return self.raw[self.spans[j][0]:self.spans[j][1]] if j < len(self.spans) else ""

    def take(self, count: int = 1) -> None:
        self.i += count

    def upto(self) -> str:
        """The words read so far (for messages)."""
        return self.raw[: self.spans[self.i - 1][1]] if self.i else ""

    def rest(self) -> str:
        if self.i >= len(self.spans):
            return ""
        return self.raw[self.spans[self.i][0]:].strip().lstrip(":,;—–- ").strip()


def read_when(raw: str, *, tz: str, now: datetime) -> When:
    words = _Words(raw.strip())
    head = words.low()
    if not head:
        raise InputError(text.SCHEDULE_USAGE)
    if head == "cron" or (_CRONISH.match(head) and _CRONISH.match(words.low(1))):
        return _cron(words, tz=tz)
    rule, description = _phrase(words, tz=tz, now=now)
    return When(rule=rule, description=description, rest=words.rest())


def _cron(words: _Words, *, tz: str) -> When:
    if words.low() == "cron":
        words.take()
    fields = [words.word(k) for k in range(5)]
    given = [f for f in fields if f]
    if len(given) < 5 or any(not re.match(r"^[0-9A-Za-z*/,\-?]+$", f) for f in given):
        bad = next((f for f in given if not re.match(r"^[0-9A-Za-z*/,\-?]+$", f)), "")
        raise InputError(text.cron_fields(len([f for f in given if f != bad][:5])) if not bad
                         else text.not_understood(bad, words.raw[:80]))
    words.take(5)
    expression = " ".join(fields)
    return When(rule=Recurrence(kind="cron", cron=expression, tz=tz), description=text.note("when_cron", cron=expression),
                rest=words.rest())


def _phrase(words: _Words, *, tz: str, now: datetime) -> tuple[Recurrence, str]:
    head = words.low()
    if head in ("every", "each"):
        words.take()
        return _every(words, tz=tz, now=now, after=head)
    if head == "on":
        words.take()
        if words.low() in ("the", "day") or _ORDINAL.match(words.low()):
            return _monthly(words, tz=tz)
        return _every(words, tz=tz, now=now, after=head)
    words.take()
    if head == "daily":
        return _at_days(words, tz=tz, days=None, label=text.note("when_every_day"))
    if head == "hourly":
        return _interval(words, seconds=3600, now=now, tz=tz)
    if head == "monthly":
        if words.low() == "on":
            words.take()
        return _monthly(words, tz=tz, already_month=True)
    if head in ("weekdays", "weekly"):
        if head == "weekdays":
            return _at_days(words, tz=tz, days="mon-fri", label=text.note("when_weekdays"))
        return _weekly(words, tz=tz)
    days = _day_list(words, first=head)
    if days:
        return _at_days(words, tz=tz, days=",".join(days), label=_days_label(days))
    raise InputError(text.no_schedule_found(words.word(-1) or head))


def _every(words: _Words, *, tz: str, now: datetime, after: str) -> tuple[Recurrence, str]:
    word = words.low()
    if word in ("day", "days") and after != "on":
        words.take()
        return _at_days(words, tz=tz, days=None, label=text.note("when_every_day"))
    if word in ("weekday", "weekdays", "workday", "workdays", "business"):
        words.take(2 if word == "business" and words.low(1) in ("day", "days") else 1)
        return _at_days(words, tz=tz, days="mon-fri", label=text.note("when_weekdays"))
    if word in ("weekend", "weekends"):
        words.take()
        return _at_days(words, tz=tz, days="sat,sun", label=text.note("when_weekend"))
    if word in _UNITS and after != "on":
        words.take()
        return _interval(words, seconds=_UNITS[word], now=now, tz=tz)
    if word.isdigit() and after != "on":
        return _count_every(words, now=now, tz=tz)
    if word == "month":
        words.take()
        if words.low() == "on":
            words.take()
        return _monthly(words, tz=tz, already_month=True)
    if word == "week":
        words.take()
        return _weekly(words, tz=tz)
    days = _day_list(words, first=None)
    if days:
        return _at_days(words, tz=tz, days=",".join(days), label=_days_label(days))
    raise InputError(text.not_understood(words.word() or after, f"{words.upto()} {words.word()}".strip()))


def _count_every(words: _Words, *, now: datetime, tz: str) -> tuple[Recurrence, str]:
    count, unit = int(words.low()[:6]), words.low(1)
    words.take()
    if unit not in _UNITS:
        raise InputError(text.unit_not_understood(words.word() or "(nothing)", words.upto()))
    words.take()
    return _interval(words, seconds=count * _UNITS[unit], now=now, tz=tz)


def _interval(words: _Words, *, seconds: int, now: datetime, tz: str) -> tuple[Recurrence, str]:
    if seconds < MIN_EVERY_SECONDS:
        raise InputError(text.too_often(MIN_EVERY_SECONDS // 60))
    if seconds > 7 * 86400:
        raise InputError(text.too_rare())
    anchor = now.replace(second=0, microsecond=0) + timedelta(seconds=seconds)
    rule = Recurrence(kind="interval", every_seconds=seconds, anchor=anchor, tz=tz)
    return rule, _how_often(seconds)


def _how_often(seconds: int) -> str:
    """How often, as said back (a catalog note: each reader sees it in their language)."""
    if seconds % 3600 == 0:
        hours = seconds // 3600
        return text.note("when_every_hour") if hours == 1 else text.note("when_every_hours", n=hours)
    return text.note("when_every_minutes", n=seconds // 60)


def _weekly(words: _Words, *, tz: str) -> tuple[Recurrence, str]:
    if words.low() == "on":
        words.take()
    days = _day_list(words, first=None)
    if not days:
        raise InputError(text.not_understood(words.word() or "(nothing)", words.upto() + " …"))
    return _at_days(words, tz=tz, days=",".join(days), label=_days_label(days))


def _day_list(words: _Words, *, first: str | None) -> list[str]:
    """Day names joined by ``and``/``,``: "monday", "mon and thu", "mondays, wednesdays". Consumes them."""
    days: list[str] = []
    if first is not None:
        day = _day_word(first)
        if day is None:
            return []
        days.append(day)
    while True:
        word = words.low()
        day = _day_word(word)
        if day is not None:
            if day not in days:
                days.append(day)
            words.take()
            continue
        if days and word in ("and", "&", "or") and _day_word(words.low(1)) is not None:
            words.take()
            continue
        return days


def _day_word(word: str) -> str | None:
    word = word.rstrip(",")
    if word.endswith("s") and word[:-1] in _DAY_WORDS:
        word = word[:-1]
    if word.endswith("day") and word[:-3] in _DAY_WORDS:
        return _DAY_WORDS[word[:-3]]
    return _DAY_WORDS.get(word)


def _days_label(days: list[str]) -> str:
    names = [text.note(f"weekday_{DAY_NAMES.index(d)}") for d in sorted(days, key=DAY_NAMES.index)]
    if len(names) == 1:
        return text.note("when_day", day=names[0])
    listed = names[0]
    for name in names[1:-1]:
        listed = text.note("list_comma", a=listed, b=name)
    return text.note("when_days", days=listed, last=names[-1])


def _at_days(words: _Words, *, tz: str, days: str | None, label: str) -> tuple[Recurrence, str]:
    hour, minute, said = _time(words)
    cron = f"{minute} {hour} * * {days or '*'}"
    return Recurrence(kind="cron", cron=cron, tz=tz), text.note("when_at", label=label, at=_said_at(hour, minute, said))


def _said_at(hour: int, minute: int, said: bool) -> str:
    at = f"{hour:02d}:{minute:02d}"
    return at if said else text.note("when_no_time", at=at)


def _monthly(words: _Words, *, tz: str, already_month: bool = False) -> tuple[Recurrence, str]:
    if words.low() == "the":
        words.take()
    if words.low() == "day":
        words.take()
    match = _ORDINAL.match(words.low())
    if match is None or not 1 <= int(match.group(1)) <= 31:
        raise InputError(text.day_of_month_bad(words.word() or "(nothing)"))
    day = int(match.group(1))
    words.take()
    if not already_month:
        if words.low() == "of":
            words.take()
        if words.low() in ("each", "every", "the"):
            words.take()
        if words.low() != "month":
            raise InputError(text.not_understood(words.word() or "(nothing)", words.upto() + " …"))
        words.take()
    hour, minute, said = _time(words)
    note = text.note("when_skipped" if day > 28 else "raw", **({} if day > 28 else {"text": ""}))
    return (Recurrence(kind="cron", cron=f"{minute} {hour} {day} * *", tz=tz),
            text.note("when_monthly", day=day, at=_said_at(hour, minute, said), note=note))


def _time(words: _Words) -> tuple[int, int, bool]:
    """An optional ``at 9:00`` / ``9:00`` / ``8am`` / ``8 pm`` / ``noon``; (hour, minute, whether one was given)."""
    explicit = words.low() == "at"
    if explicit:
        words.take()
    word, nxt = words.low(), words.low(1)
    if word in ("noon", "midday"):
        words.take()
        return 12, 0, True
    if word == "midnight":
        words.take()
        return 0, 0, True
    joined = f"{word}{nxt}" if nxt in ("am", "pm", "a.m.", "p.m.") else word
    match = _TIME.match(joined)
    if match is None or not (explicit or ":" in word or match.group(3)):
        if explicit:
            raise InputError(text.time_bad(words.word() or "(nothing)"))
        return DEFAULT_TIME[0], DEFAULT_TIME[1], False
    hour, minute, half = int(match.group(1)), int(match.group(2) or 0), (match.group(3) or "").replace(".", "")
    if half:
        if not 1 <= hour <= 12:
            raise InputError(text.time_bad(words.word()))
        hour = hour % 12 + (12 if half == "pm" else 0)
    if hour > 23 or minute > 59:
        raise InputError(text.time_bad(words.word()))
    words.take(2 if joined != word else 1)
    return hour, minute, True
