"""Schedules as Maple's own data, and the store port that keeps them and their firings.

A schedule is JSON (pydantic) in the store — nothing pickled, so another client writing the store can at worst
write a document that fails validation, never code that runs. Every firing is keyed by the schedule and its
*scheduled* fire time: a process claims the key (a lease), fires, and settles it; a settled key is never fired
again, by any process.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from abc import ABC, abstractmethod
from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from bot.core.recurrence import Recurrence

ScheduleState = Literal["active", "paused"]
FireResult = Literal["fired", "missed", "paused", "refused"]
_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
CONFIG_PREFIX = "config:"


def new_schedule_id() -> str:
    return "S-" + "".join(secrets.choice(_ALPHABET) for _ in range(10))


class Schedule(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str = Field(default_factory=new_schedule_id, max_length=80)
    owner: str = Field(pattern=r"^[UW][A-Z0-9]{2,}$")
    workflow: str
    goal: str
    channel: str = Field(pattern=r"^[CGD][A-Z0-9]{2,}$")
    team: str | None = None
    rule: Recurrence
    description: str
    state: ScheduleState = "active"
    paused_reason: str | None = None
    source: Literal["slack", "config"] = "slack"
    grace_seconds: int = Field(900, ge=0, le=86400)
    created_at: datetime
    active_since: datetime  # created, or last resumed: nothing before it fires or counts as missed
    salt: str = Field(default_factory=lambda: secrets.token_hex(16))
    version: int = 0

    @property
    def from_config(self) -> bool:
        return self.source == "config"


class FireRecord(BaseModel):
    """What became of one fire time."""

    at: datetime
    result: FireResult
    run_id: str | None = None
    manual: bool = False
    count: int = 1  # a missed record may stand for several fire times


class FireState(BaseModel):
    """The latest settled fire time (the catch-up cursor), the latest firing, and recent records."""

    last: datetime | None = None
    last_fired: datetime | None = None
    history: list[FireRecord] = Field(default_factory=list)

    @property
    def latest(self) -> FireRecord | None:
        return self.history[0] if self.history else None


def fire_key(at: datetime, *, manual: bool = False) -> str:
    """The key of a fire time: its epoch second (a manual start is kept apart from scheduled times)."""
    return ("m" if manual else "") + str(int(at.timestamp()))


def fire_run_id(schedule: Schedule, at: datetime, *, manual: bool = False) -> str:
    """The run a firing creates has an id derived from the schedule's secret salt and the fire time: every process
    that fires the same time builds the same run, and the run store refuses the second one."""
    digest = hmac.new(schedule.salt.encode(), f"{schedule.id}|{fire_key(at, manual=manual)}".encode(),
                      hashlib.sha256).digest()
    return "R-" + "".join(_ALPHABET[b % 32] for b in digest[:16])


def epoch(at: datetime) -> datetime:
    """A fire time as whole seconds in UTC (the store keys it by its epoch second)."""
    return datetime.fromtimestamp(int(at.timestamp()), UTC)


class ScheduleStore(ABC):
    """Schedules (compare-and-set by ``version``) and their firings, shared by every Maple process. A change
    (create, save, delete) is announced to every process, which calls ``on_change`` handlers it registered."""

    @abstractmethod
    async def create(self, schedule: Schedule) -> Schedule: ...

    @abstractmethod
    async def get(self, schedule_id: str) -> Schedule:
        """Raise NotFound when there is no such schedule."""

    @abstractmethod
    async def all(self) -> list[Schedule]: ...

    @abstractmethod
    async def save(self, schedule: Schedule) -> Schedule:
        """Write if the stored version equals ``schedule.version`` (ConflictError otherwise)."""

    @abstractmethod
    async def delete(self, schedule_id: str) -> None: ...

    @abstractmethod
    async def claim(self, schedule_id: str, key: str, *, lease: float) -> str | None:
        """Take fire time ``key`` for ``lease`` seconds: a token, or None when it is settled or held by another."""

    @abstractmethod
    async def holds(self, schedule_id: str, key: str, token: str) -> bool: ...

    @abstractmethod
    async def settle(self, schedule_id: str, key: str, *, record: FireRecord) -> bool:
        """Mark the fire time done with its record (False if it already was)."""

    @abstractmethod
    async def miss(self, schedule_id: str, keys: list[str], *, record: FireRecord) -> int:
        """Mark every key in ``keys`` that nobody settled or holds as missed; how many were."""

    @abstractmethod
    async def open_keys(self, pairs: list[tuple[str, str]]) -> set[tuple[str, str]]:
        """Of the (schedule id, fire key) pairs, those neither settled nor held by anyone."""

    @abstractmethod
    async def states(self, schedule_ids: list[str]) -> dict[str, FireState]: ...

    @abstractmethod
    async def cursors(self, schedule_ids: list[str]) -> dict[str, datetime]:
        """The latest settled fire time of each schedule (absent: none yet), read for many at once."""
