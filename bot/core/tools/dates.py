"""Date math in the user's time zone: days until a date, days between two dates, N (business) days from a date."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.core.errors import ToolDenied

_ISO = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
_ADD = re.compile(r"\b(\d{1,4})\s+(business days?|working days?|days?|weeks?)\s+(?:from|after)\s+(today|\d{4}-\d{2}-\d{2})")


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ToolDenied(f"unknown time zone {name!r}") from exc


def add_business_days(start: date, days: int) -> date:
    step = 1 if days >= 0 else -1
    current, left = start, abs(days)
    while left:
        current += timedelta(days=step)
        if current.weekday() < 5:
            left -= 1
    return current


def _dates(text: str) -> list[date]:
    found = []
    for y, m, d in _ISO.findall(text):
        try:
            found.append(date(int(y), int(m), int(d)))
        except ValueError as exc:
            raise ToolDenied(f"{y}-{m}-{d} is not a valid date") from exc
    return found


def date_math(goal: str, *, now: datetime, tz: str) -> str | None:
    """Answer a date question in ``goal``, or None when there is none."""
    today = now.astimezone(zone(tz)).date()
    text = goal.lower()
    added = _ADD.search(text)
    if added:
        count, unit, start_text = int(added.group(1)), added.group(2), added.group(3)
        start = today if start_text == "today" else _dates(start_text)[0]
        if count > 3650:
            raise ToolDenied("at most 3,650 days")
        if unit.startswith(("business", "working")):
            result = add_business_days(start, count)
        else:
            result = start + timedelta(days=count * (7 if unit.startswith("week") else 1))
        return f"{count} {unit} from {start.isoformat()} is {result:%A} {result.isoformat()}."
    dates = _dates(text)
    if len(dates) >= 2 and ("between" in text or "from" in text):
        days = (dates[1] - dates[0]).days
        return f"{abs(days):,} days between {dates[0].isoformat()} and {dates[1].isoformat()}."
    if dates and re.search(r"\b(?:until|till|to go|before|since)\b", text):
        days = (dates[0] - today).days
        when = f"{days:,} days until" if days >= 0 else f"{-days:,} days since"
        return f"{when} {dates[0].isoformat()} ({dates[0]:%A}), counting from {today.isoformat()} in {tz}."
    if dates and "weekday" in text or dates and "what day" in text:
        return f"{dates[0].isoformat()} is a {dates[0]:%A}."
    return None
