"""When a schedule fires: a recurrence rule in a time zone, and the ``Timetable`` port that computes fire times.

A rule is Maple's own data (JSON in the schedule store, nothing pickled): a five-field cron expression read in
the owner's time zone — so "9:00" stays 9:00 on the wall clock on both sides of a daylight-saving change — or a
fixed interval of elapsed time from an anchor ("every 2 hours" is two real hours, whatever the clocks do).
The adapter (integrations/scheduler.py) computes fire times with APScheduler's triggers, so the times shown to
a person and the times a schedule fires come from the same code.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from bot.core.config_checks import zone_problem


class Recurrence(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["cron", "interval"]
    tz: str = "UTC"
    cron: str | None = Field(None, max_length=120)
    every_seconds: int | None = Field(None, ge=1, le=366 * 86400)
    anchor: datetime | None = None  # the first fire time of an interval rule (UTC)

    @model_validator(mode="after")
    def _complete(self) -> Recurrence:
        if why := zone_problem(self.tz):
            raise ValueError(why)
        if self.kind == "cron" and not self.cron:
            raise ValueError("a cron rule needs a cron expression")
        if self.kind == "interval" and (self.every_seconds is None or self.anchor is None):
            raise ValueError("an interval rule needs every_seconds and an anchor")
        return self


class Timetable(ABC):
    """Fire times of a rule. Every datetime in and out is timezone-aware."""

    @abstractmethod
    def check(self, rule: Recurrence) -> None:
        """Raise InputError (naming the part) when the rule cannot be computed, e.g. a bad cron field."""

    @abstractmethod
    def next_after(self, rule: Recurrence, after: datetime) -> datetime | None:
        """The first fire time strictly after ``after`` (None: the rule never fires again)."""

    def upcoming(self, rule: Recurrence, *, after: datetime, count: int) -> list[datetime]:
        times: list[datetime] = []
        at = after
        while len(times) < count:
            nxt = self.next_after(rule, at)
            if nxt is None:
                break
            times.append(nxt)
            at = nxt
        return times

    def between(self, rule: Recurrence, *, after: datetime, until: datetime, limit: int) -> list[datetime]:
        """Fire times in (``after``, ``until``], at most ``limit`` of them (the latest ones when there are more)."""
        times: list[datetime] = []
        at = after
        while True:
            nxt = self.next_after(rule, at)
            if nxt is None or nxt > until:
                return times[-limit:]
            times.append(nxt)
            if len(times) > 4 * limit:
                times = times[-limit:]
            at = nxt
