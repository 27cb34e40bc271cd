"""A bounded map that drops its least recently used entry first, optionally forgetting entries after a time.

``Recent(max_size)`` keeps at most ``max_size`` entries: a ``put`` beyond that drops the entry least recently put or
got. With ``ttl`` an entry is a miss once ``ttl`` seconds have passed since it was put (by ``clock``, monotonic time
unless a test gives its own). Every call holds a lock, so one map may be shared by threads.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

__all__ = ["Recent"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Recent(Generic[K, V]):
    def __init__(self, max_size: int, *, ttl: float | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        if max_size < 1:
            raise ValueError("max_size must be at least 1")
        if ttl is not None and ttl <= 0:
            raise ValueError("ttl must be positive")
        self._max = max_size
        self._ttl = ttl
        self._clock = clock
        self._entries: OrderedDict[K, tuple[float, V]] = OrderedDict()  # key → (valid until, value)
        self._lock = threading.Lock()

    def _live(self, key: K) -> tuple[float, V] | None:
        """The entry for ``key`` if it has not expired; an expired one is dropped. The lock is held."""
        entry = self._entries.get(key)
        if entry is not None and self._ttl is not None and entry[0] <= self._clock():
            del self._entries[key]
            return None
        return entry

    def get(self, key: K) -> V | None:
        """The value for ``key``, now the most recently used; ``None`` when absent or expired."""
        with self._lock:
            entry = self._live(key)
            if entry is None:
                return None
            self._entries.move_to_end(key)
            return entry[1]

    def put(self, key: K, value: V) -> None:
        """Keep ``value`` for ``key`` as the most recently used (its time to live starting now), dropping the least
        recently used entries beyond ``max_size``."""
        with self._lock:
            until = self._clock() + self._ttl if self._ttl is not None else 0.0
            self._entries[key] = (until, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)

    def pop(self, key: K) -> V | None:
        """Forget ``key``; its value, or ``None`` when it was absent or expired."""
        with self._lock:
            entry = self._live(key)
            if entry is None:
                return None
            del self._entries[key]
            return entry[1]

    def __len__(self) -> int:
        """Entries held, expired ones not yet dropped included."""
        with self._lock:
            return len(self._entries)
