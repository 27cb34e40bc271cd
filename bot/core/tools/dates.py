"""Date math in the user's time zone: days or business days until, since or between dates; N days, business days,
weeks, months or years from (or before) a date.

Business days are Monday to Friday minus the configured holidays (``tools.holidays``). A count of business days
"until" a date counts the business days after the start up to and including the end — so adding N business days
to a date and counting back gives N again. Months and years land on the same day of the month, or on the month's
last day when it is shorter (2026-01-31 + 1 month = 2026-02-28; 2024-02-29 + 1 year = 2025-02-28).

A question may be asked in French ("combien de jours ouvrables avant le 15 janvier 2027 ?", "10 jours ouvrables
après le 2026-12-01", "le 2026-12-25 est-il un jour ouvrable ?"): its words are read as the English ones they stand
for, and the answer is given in French.

``parse`` only reads the question (regular expressions, nothing computed, never raises); ``answer`` computes it and
raises only ToolDenied / ToolFailed, with bounded work: at most ``MAX_DAYS`` days, ``MAX_MONTHS`` months.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.core import text
from bot.core.errors import ToolDenied, ToolFailed
from bot.core.text import Msg

MAX_DAYS, MAX_MONTHS, MAX_YEARS = 3650, 1200, 100
MAX_QUESTION = 300
_MONTHS = {name: i + 1 for i, names in enumerate((
    ("january", "jan", "janvier", "janv"), ("february", "feb", "février", "fevrier", "févr", "fevr"),
    ("march", "mar", "mars"), ("april", "apr", "avril", "avr"), ("may", "mai"), ("june", "jun", "juin"),
    ("july", "jul", "juillet", "juil"), ("august", "aug", "août", "aout"),
    ("september", "sep", "sept", "septembre"), ("october", "oct", "octobre"),
    ("november", "nov", "novembre"), ("december", "dec", "décembre", "decembre", "déc")))
    for name in names}
_MONTH = "|".join(sorted(_MONTHS, key=len, reverse=True))
# "January 15, 2027", "Jan 15th", "15 January 2027", "le 15 janvier": turned into ISO dates (or, without a year,
# "next-MM-DD": the next such day on or after today) before the question is read.
_NAMED_MD = re.compile(rf"\b({_MONTH})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?\b(?:,?\s+(\d{{4}})\b)?")
_NAMED_DM = re.compile(rf"\b(\d{{1,2}})(?:st|nd|rd|th|er)?\s+(?:of\s+)?({_MONTH})\.?(?:,?\s+(\d{{4}})\b)?")
_END = re.compile(r"\b(?:the\s+)?end\s+of\s+(?:the\s+|this\s+)?(month|year)\b")
_REF = r"(today|tomorrow|yesterday|end-of-month|end-of-year|next-\d{1,2}-\d{1,2}|\d{4}-\d{1,2}-\d{1,2})"
_UNIT = r"(business days?|working days?|weekdays|days?|weeks?|months?|years?)"
_ADD = re.compile(rf"\b(\d{{1,6}})\s+{_UNIT}\s+(from|after|before)\s+{_REF}")
_IN = re.compile(rf"\bin\s+(\d{{1,6}})\s+{_UNIT}(?!\s+(?:from|after|before)\b)")
_DATE = re.compile(r"\b(?:end-of-month|end-of-year|next-\d{1,2}-\d{1,2}|\d{4}-\d{1,2}-\d{1,2})\b")
_BUSINESS = re.compile(r"\b(?:business|working) days?\b|\bweekdays\b")
_UNTIL = re.compile(r"\b(?:until|till|to go|before|left before|by)\b")
_SINCE = re.compile(r"\b(?:since|ago)\b")
_BETWEEN = re.compile(r"\b(?:between|from)\b")
_WEEKDAY = re.compile(r"\bweekday\b|\bwhat day\b|\bday of the week\b")
_IS_BUSINESS = re.compile(rf"\bis\s+{_REF}\s+an?\s+(?:business|working|work)\s+day\b")
# French: recognised by its date words, then read as the English it stands for (in this order).
_FRENCH = re.compile(r"\b(?:jours?|semaines?|mois|années?|aujourd'hui|demain|hier|combien|depuis|ouvrables?|ouvrés?|"
                     r"férié|d'ici|jusqu'(?:au|à)|quel jour|ans|\d+\s+an)(?!\w)")  # "an" alone is English; "2 ans", "1 an" French
_FR_WORDS = tuple((re.compile(pattern), english) for pattern, english in (
    (r"\bd'aujourd'hui\b", "today"), (r"\baujourd'hui\b", "today"), (r"\bdemain\b", "tomorrow"),
    (r"\bhier\b", "yesterday"),
    (r"\b(?:la\s+)?fin\s+(?:du|de\s+ce)\s+mois\b", "end-of-month"),
    (r"\b(?:la\s+)?fin\s+(?:de\s+l'|d'|de\s+cette\s+)année\b", "end-of-year"),
    (r"\bquel\s+jour\s+de\s+la\s+semaine\b|\bquel\s+jour\b", "what day"),
    (rf"\best-ce\s+que\s+(?:le\s+)?{_REF}\s+est\s+un\s+jour\s+(?:ouvrable|ouvré)\b", r"is \1 a business day"),
    (rf"\b{_REF}\s+est-(?:il|ce)\s+un\s+jour\s+(?:ouvrable|ouvré)\b", r"is \1 a business day"),
    (r"\bjours\s+(?:ouvrables|ouvrés)\b", "business days"), (r"\bjour\s+(?:ouvrable|ouvré)\b", "business day"),
    (r"\bjours\b", "days"), (r"\bjour\b", "day"), (r"\bsemaines\b", "weeks"), (r"\bsemaine\b", "week"),
    (r"\bmois\b", "months"), (r"\b(?:années|ans)\b", "years"), (r"\b(?:année|an)\b", "year"),
    (r"\bà\s+(?:partir|compter)\s+(?:du\s+|de\s+la\s+|de\s+l'|de\s+|d')?", "from "),
    (r"\baprès\s+(?:le\s+|la\s+)?", "after "), (r"\bavant\s+(?:le\s+|la\s+)?", "before "),
    (r"\bdepuis\s+(?:le\s+|la\s+)?", "since "),
    (r"\b(?:jusqu'(?:au|à)|d'ici\s+(?:le|au|à|la)|d'ici)\s*", "until "),
    (r"\bentre\s+(?:le\s+)?", "between "), (r"\bdans\s+(?=\d)", "in "),
))


@dataclass(frozen=True)
class Question:
    kind: str  # add · between · until · since · weekday · is_business
    refs: tuple[str, ...]
    count: int = 0
    unit: str = "days"
    sign: int = 1
    business: bool = False


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise ToolDenied(text.unknown_time_zone(name)) from exc


def parse(question: str) -> Question | None:
    """What ``question`` asks, or None when it is not a date question. Reads at most ``MAX_QUESTION`` characters."""
    low = _read(question)[0]
    added = _ADD.search(low) or _IN.search(low)
    if added:
        unit = added.group(2)
        sign = -1 if added.re is _ADD and added.group(3) == "before" else 1
        ref = added.group(4) if added.re is _ADD else "today"
        return Question(kind="add", refs=(ref,), count=int(added.group(1)), unit=unit, sign=sign,
                        business=unit.startswith(("business", "working", "weekday")))
    open_day = _IS_BUSINESS.search(low)
    if open_day:
        return Question(kind="is_business", refs=(open_day.group(1),), business=True)
    refs = tuple(m.group(0) for m in _DATE.finditer(low))
    business = bool(_BUSINESS.search(low))
    if len(refs) >= 2 and _BETWEEN.search(low):
        return Question(kind="between", refs=refs[:2], business=business)
    if refs and _SINCE.search(low):
        return Question(kind="since", refs=refs[:1], business=business)
    if refs and _UNTIL.search(low):
        return Question(kind="until", refs=refs[:1], business=business)
    if refs and _WEEKDAY.search(low):
        return Question(kind="weekday", refs=refs[:1])
    return None


def _read(question: str) -> tuple[str, str]:
    """The question as ``parse`` reads it (lower case, named dates as ISO tokens, French read as English), and its
    language (``fr`` when it was asked in French)."""
    low = _named_dates(question[:MAX_QUESTION].lower().replace("’", "'"))
    if not _FRENCH.search(low):
        return low, "en"
    for pattern, english in _FR_WORDS:
        low = pattern.sub(english, low)
    return low, "fr"


def language_of(question: str) -> str:
    return _read(question)[1]


def _named_dates(low: str) -> str:
    """Dates written with a month's name, and "the end of the month / year", as the tokens ``_REF`` reads."""
    def iso(month: str, day: str, year: str | None) -> str:
        m, d = _MONTHS[month], int(day)
        return f"{year}-{m:02d}-{d:02d}" if year else f"next-{m:02d}-{d:02d}"

    low = _NAMED_MD.sub(lambda g: iso(g.group(1), g.group(2), g.group(3)), low)
    low = _NAMED_DM.sub(lambda g: iso(g.group(2), g.group(1), g.group(3)), low)
    return _END.sub(lambda g: f"end-of-{g.group(1)}", low)


def mentions_date(text: str) -> bool:
    """Whether ``text`` names a date (so that it is never read as arithmetic: 2026-12-25 is not 1,989)."""
    return bool(_DATE.search(_named_dates(text[:MAX_QUESTION].lower())))


def is_business_day(day: date, holidays: frozenset[date]) -> bool:
    return day.weekday() < 5 and day not in holidays


def _weekdays_through(day: date) -> int:
    """Weekdays from 0001-01-01 (a Monday) through ``day``."""
    weeks, rest = divmod(day.toordinal(), 7)
    return weeks * 5 + min(rest, 5)


def business_days_between(start: date, end: date, holidays: Iterable[date] = ()) -> int:
    """Business days after ``start`` up to and including ``end`` (negative when ``end`` is earlier)."""
    if end < start:
        return -business_days_between(end, start, holidays)
    off = sum(1 for h in set(holidays) if start < h <= end and h.weekday() < 5)
    return _weekdays_through(end) - _weekdays_through(start) - off


def add_business_days(start: date, days: int, holidays: Iterable[date] = ()) -> date:
    if abs(days) > MAX_DAYS:
        raise ToolDenied(text.date_limit(MAX_DAYS, "business days"))
    closed = frozenset(holidays)
    step = 1 if days >= 0 else -1
    current, left = start, abs(days)
    try:
        while left:
            current += timedelta(days=step)
            if is_business_day(current, closed):
                left -= 1
    except OverflowError as exc:
        raise ToolFailed(text.DATE_OUT_OF_RANGE) from exc
    return current


def add_months(start: date, months: int) -> date:
    """Same day of the month, or the month's last day when it is shorter."""
    if abs(months) > MAX_MONTHS:
        raise ToolDenied(text.date_limit(MAX_MONTHS, "months"))
    years, month0 = divmod(start.month - 1 + months, 12)
    year = start.year + years
    if not 1 <= year <= 9999:
        raise ToolFailed(text.DATE_OUT_OF_RANGE)
    return date(year, month0 + 1, min(start.day, calendar.monthrange(year, month0 + 1)[1]))


def _day(ref: str, today: date) -> date:
    offsets = {"today": 0, "tomorrow": 1, "yesterday": -1}
    try:
        if ref in offsets:
            return today + timedelta(days=offsets[ref])
        if ref == "end-of-month":
            return date(today.year, today.month, calendar.monthrange(today.year, today.month)[1])
        if ref == "end-of-year":
            return date(today.year, 12, 31)
        if ref.startswith("next-"):
            return _next(today, *(int(part) for part in ref.split("-")[1:]))
        y, m, d = (int(part) for part in ref.split("-"))
        return date(y, m, d)
    except OverflowError as exc:
        raise ToolFailed(text.DATE_OUT_OF_RANGE) from exc
    except (ValueError, IndexError, TypeError) as exc:
        raise ToolDenied(text.invalid_date(ref.removeprefix("next-"))) from exc


def _next(today: date, month: int, day: int) -> date:
    """The next ``month``-``day`` on or after ``today`` (a 29 February: the next leap year's)."""
    for year in range(today.year, today.year + 9):
        if day <= calendar.monthrange(year, month)[1] and date(year, month, day) >= today:
            return date(year, month, day)
    raise ValueError(f"{month}-{day}")


def _shift(q: Question, start: date, holidays: frozenset[date]) -> date:
    n = q.count * q.sign
    if q.business:
        return add_business_days(start, n, holidays)
    if q.unit.startswith("month"):
        return add_months(start, n)
    if q.unit.startswith("year"):
        if q.count > MAX_YEARS:
            raise ToolDenied(text.date_limit(MAX_YEARS, "years"))
        return add_months(start, 12 * n)
    days = n * (7 if q.unit.startswith("week") else 1)
    if abs(days) > MAX_DAYS:
        raise ToolDenied(text.date_limit(MAX_DAYS, "days"))
    try:
        return start + timedelta(days=days)
    except OverflowError as exc:
        raise ToolFailed(text.DATE_OUT_OF_RANGE) from exc


def _count(q: Question, a: date, b: date, holidays: frozenset[date]) -> tuple[int, Msg]:
    n = business_days_between(a, b, holidays) if q.business else (b - a).days
    base = "business_day" if q.business else "day"
    return n, text.msg(f"unit_{base}" if n == 1 else f"unit_{base}s")


def _unit(q: Question) -> Msg:
    """The unit as said back: "1 business day", "3 weeks" (whatever the question wrote)."""
    base = "business_day" if q.business else q.unit.rstrip("s")
    return text.msg(f"unit_{base}" if q.count == 1 else f"unit_{base}s")


def _holiday_note(holidays: frozenset[date], business: bool) -> Msg:
    if not business:
        return text.msg("raw", text="")
    return text.msg("date_note_holidays" if holidays else "date_note_no_holidays")


def _said(day: date) -> dict[str, text.Arg]:
    return {"weekday": text.weekday(day.weekday())}


def _counted(q: Question, a: date, b: date) -> Msg:
    return text.msg("date_counted", a=a.isoformat(), b=b.isoformat()) if q.business else text.msg("raw", text="")


def answer(q: Question, *, today: date, tz: str, holidays: frozenset[date] = frozenset()) -> Msg:
    """The answer to a parsed question, ``today`` being the date in the user's time zone ``tz``."""
    note = _holiday_note(holidays, q.business)
    if q.kind == "add":
        start = _day(q.refs[0], today)
        result = _shift(q, start, holidays)
        return text.msg("date_subtract" if q.sign < 0 else "date_add", count=q.count, unit=_unit(q),
                        start=start.isoformat(), result=result.isoformat(), note=note, **_said(result))
    if q.kind == "weekday":
        day = _day(q.refs[0], today)
        return text.msg("date_weekday", day=day.isoformat(), **_said(day))
    if q.kind == "is_business":
        day = _day(q.refs[0], today)
        why = "date_weekend" if day.weekday() >= 5 else "date_holiday" if day in holidays else None
        if why is None:
            return text.msg("date_is_business", day=day.isoformat(), **_said(day))
        return text.msg("date_not_business", day=day.isoformat(), why=text.msg(why), **_said(day))
    if q.kind == "between":
        a, b = sorted((_day(q.refs[0], today), _day(q.refs[1], today)))
        n, unit = _count(q, a, b, holidays)
        return text.msg("date_between", n=n, unit=unit, a=a.isoformat(), b=b.isoformat(), counted=_counted(q, a, b),
                        note=note)
    day = _day(q.refs[0], today)
    a, b = sorted((today, day))
    n, unit = _count(q, a, b, holidays)
    return text.msg("date_until" if day >= today else "date_since", n=n, unit=unit, day=day.isoformat(),
                    today=today.isoformat(), tz=tz, counted=_counted(q, a, b), note=note, **_said(day))


def date_math(goal: str, *, now: datetime, tz: str, holidays: Iterable[date] = ()) -> str | None:
    """Answer a date question in ``goal`` — in French when it was asked in French — or None when there is none."""
    today = now.astimezone(zone(tz)).date()
    question = parse(goal)
    if question is None:
        return None
    said = answer(question, today=today, tz=tz, holidays=frozenset(holidays))
    return str(text.in_language(said, language_of(goal)))
