"""Operator controls shared through Redis: ``{prefix}controls`` (HASH control → JSON ``{"on", "by", "reason",
"at"}``), written by ``maple control …``, read by every process.

Each process keeps the controls (and the queue's backlog, for backpressure notices) in memory and refreshes them
every ``every`` seconds, so a routing decision or a goal never waits for Redis to learn them, and a change is in
effect on every process within about a second. When Redis cannot be read the last state read stays in force.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis

from bot.core.errors import MapleError
from bot.core.ports import Controls, ControlState, QueueStats
from integrations import metrics
from integrations.redis_conn import as_text, guarded
from integrations.redis_queue import RedisJobQueue
from integrations.tasks import stop_task

log = logging.getLogger("maple.controls")
NAMES = ("freeze_external", "intake_paused")


@dataclass(frozen=True, kw_only=True)
class Change:
    """One control as set: on or off, by whom, why, when (epoch seconds)."""

    name: str
    on: bool
    by: str
    reason: str
    at: float


class RedisControls(Controls):
    def __init__(self, *, redis: aioredis.Redis, prefix: str, queue: RedisJobQueue | None = None,
                 every: float = 1.0) -> None:
        self._r, self._key, self._queue, self._every = redis, f"{prefix}controls", queue, every
        self._state = ControlState()
        self._backlog: QueueStats | None = None
        self._task: asyncio.Task[None] | None = None

    def current(self) -> ControlState:
        return self._state

    def backlog(self) -> QueueStats | None:
        return self._backlog

    async def read(self) -> dict[str, Change]:
        raw: Any = await guarded(lambda: self._r.hgetall(self._key))
        out: dict[str, Change] = {}
        for name, value in raw.items():
            try:
                data = json.loads(as_text(value))
                out[as_text(name)] = Change(name=as_text(name), on=bool(data["on"]), by=str(data.get("by", "")),
                                            reason=str(data.get("reason", "")), at=float(data.get("at", 0)))
            except (ValueError, KeyError, TypeError):
                log.warning("unreadable control ignored", extra={"control": as_text(name)})
        return out

    async def set(self, name: str, *, on: bool, by: str, reason: str = "") -> Change:
        if name not in NAMES:
            raise MapleError(f"no control called {name!r}")
        change = Change(name=name, on=on, by=by, reason=reason, at=time.time())
        doc = json.dumps({"on": on, "by": by, "reason": reason, "at": change.at})
        await guarded(lambda: self._r.hset(self._key, name, doc))
        await self.refresh()
        return change

    async def refresh(self) -> None:
        """Read the controls (and the backlog) now; keep the last state on failure."""
        try:
            changes = await self.read()
            self._state = ControlState(**{n: changes[n].on for n in NAMES if n in changes})
            if self._queue is not None:
                self._backlog = await self._queue.stats()
        except MapleError as exc:
            log.warning("controls unreadable; the last state read stays in force",
                        extra={"error": type(exc).__name__})
        for name in NAMES:
            metrics.CONTROLS.labels(name).set(1 if getattr(self._state, name) else 0)

    async def open(self) -> None:
        """Read once now, then keep refreshing in the background."""
        await self.refresh()
        if self._task is None:
            self._task = asyncio.create_task(self._loop())

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self._every)
            await self.refresh()

    async def close(self) -> None:
        await stop_task(self._task)
        self._task = None
