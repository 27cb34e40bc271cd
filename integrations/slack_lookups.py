"""Cached Web API look-ups with bounded waits, for the ack path.

Each key is loaded by one task at a time (single flight) that keeps running in the background when a caller stops
waiting, so a slow answer (a channel with thousands of members, Slack being slow or rate limiting) costs the
request that asked at most ``wait`` seconds and is ready for the next one. A stale answer is served while it is
refreshed in the background; a failed load keeps the previous answer. With ``retry_after``, a key whose load failed with
nothing cached is not asked again for that many seconds (callers get "unknown" at once), so a Slack that is failing
is not asked once per request, nor waited for on every one (``users.info``: 5 s).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")
FAILED_PERSON_RETRY = 5.0  # seconds a users.info that failed is not asked again
log = logging.getLogger("maple.slack")


class Lookups(Generic[T]):
    def __init__(self, *, name: str, load: Callable[[str], Awaitable[T]], ttl: float, retry_after: float = 0.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._name = name
        self._load = load
        self._ttl = ttl
        self._retry_after = retry_after
        self._clock = clock
        self._entries: dict[str, tuple[float, T]] = {}
        self._failed: dict[str, float] = {}  # key → when it may be asked again (its last load failed)
        self._tasks: dict[str, asyncio.Task[None]] = {}

    async def get(self, key: str, *, wait: float | None) -> T | None:
        """The answer for ``key``: cached, or loaded within ``wait`` seconds (None = as long as it takes).
        None when nothing is known in time or the load failed with nothing cached."""
        entry = self._entries.get(key)
        if entry is not None and entry[0] > self._clock():
            return entry[1]
        if entry is None and self._failed.get(key, 0.0) > self._clock():
            return None  # failed a moment ago: not asked again yet
        task = self._start(key)
        if entry is not None:
            return entry[1]  # stale: refreshed in the background
        try:
            await asyncio.wait_for(asyncio.shield(task), wait)
        except TimeoutError:
            log.warning("look-up not answered in time; treated as unknown",
                        extra={"lookup": self._name, "wait_seconds": wait})
            return None
        return self.peek(key)

    def prefetch(self, key: str) -> None:
        """Start loading ``key`` in the background (once), without waiting for it."""
        if self._failed.get(key, 0.0) <= self._clock():
            self._start(key)

    def peek(self, key: str) -> T | None:
        entry = self._entries.get(key)
        return entry[1] if entry is not None else None

    def put(self, key: str, value: T) -> None:
        self._entries[key] = (self._clock() + self._ttl, value)
        self._failed.pop(key, None)

    def update(self, key: str, change: Callable[[T], T]) -> None:
        """Apply ``change`` to a cached answer, keeping its age (e.g. a member joined a cached channel)."""
        entry = self._entries.get(key)
        if entry is not None:
            self._entries[key] = (entry[0], change(entry[1]))

    def forget(self, key: str | None = None) -> None:
        if key is None:
            self._entries.clear()
            self._failed.clear()
        else:
            self._entries.pop(key, None)
            self._failed.pop(key, None)

    async def close(self) -> None:
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _start(self, key: str) -> asyncio.Task[None]:
        task = self._tasks.get(key)
        if task is None:
            task = asyncio.create_task(self._refresh(key))
            self._tasks[key] = task
            task.add_done_callback(lambda _done: self._tasks.pop(key, None))
        return task

    async def _refresh(self, key: str) -> None:
        try:
            value = await self._load(key)
        except Exception as exc:  # noqa: BLE001 - a background load must not die unobserved; the old answer stays
            log.warning("look-up failed", extra={"lookup": self._name, "error": type(exc).__name__})
            self._failed[key] = self._clock() + self._retry_after
            return
        self.put(key, value)
