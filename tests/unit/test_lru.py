"""The bounded least-recently-used map (bot/core/lru.py ``Recent``): the entry least recently put or got goes
first, an entry with a time to live is a miss once it has passed (on the map's clock), and ``pop`` forgets."""

from __future__ import annotations

import threading

import pytest

from bot.core.lru import Recent


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_least_recently_used_entry_goes_first_and_a_get_refreshes() -> None:
    recent: Recent[str, int] = Recent(3)
    for i, key in enumerate("abc"):
        recent.put(key, i)
    assert recent.get("a") == 0  # a is now the most recently used: b is the oldest
    recent.put("d", 3)
    assert recent.get("b") is None
    assert [recent.get(k) for k in "acd"] == [0, 2, 3]
    recent.put("e", 4)  # the get above made a the oldest
    assert recent.get("a") is None and len(recent) == 3


def test_putting_a_key_again_replaces_its_value_and_refreshes_it() -> None:
    recent: Recent[str, int] = Recent(2)
    recent.put("a", 1)
    recent.put("b", 2)
    recent.put("a", 10)
    recent.put("c", 3)
    assert recent.get("a") == 10 and recent.get("b") is None and len(recent) == 2


def test_the_size_stays_within_the_bound() -> None:
    recent: Recent[int, int] = Recent(5)
    for i in range(100):
        recent.put(i, i * i)
        assert len(recent) <= 5
    assert len(recent) == 5
    assert [recent.get(i) for i in range(95, 100)] == [i * i for i in range(95, 100)]
    assert all(recent.get(i) is None for i in range(95))


def test_pop_forgets_and_gives_the_value() -> None:
    recent: Recent[tuple[str, int], str] = Recent(4)
    recent.put(("run", 1), "queued")
    assert recent.pop(("run", 1)) == "queued"
    assert recent.pop(("run", 1)) is None and recent.get(("run", 1)) is None and len(recent) == 0
    assert recent.pop(("never", 0)) is None


def test_an_entry_expires_after_its_time_to_live() -> None:
    clock = Clock()
    recent: Recent[str, str] = Recent(10, ttl=60.0, clock=clock)
    recent.put("U1", "D1")
    clock.now += 59.9
    assert recent.get("U1") == "D1"  # a get does not extend the time to live
    clock.now += 0.1
    assert recent.get("U1") is None and len(recent) == 0  # expired: dropped
    recent.put("U1", "D2")  # a new put starts a new time to live
    clock.now += 30.0
    assert recent.get("U1") == "D2"
    clock.now += 30.0
    assert recent.pop("U1") is None


def test_without_a_time_to_live_entries_never_expire() -> None:
    clock = Clock()
    recent: Recent[str, int] = Recent(2, clock=clock)
    recent.put("a", 1)
    clock.now += 1e12
    assert recent.get("a") == 1


def test_expired_and_live_entries_share_the_bound() -> None:
    clock = Clock()
    recent: Recent[str, int] = Recent(2, ttl=10.0, clock=clock)
    recent.put("a", 1)
    clock.now += 5
    recent.put("b", 2)
    recent.put("c", 3)  # a, the least recently used, goes
    assert recent.get("a") is None and recent.get("b") == 2 and recent.get("c") == 3
    clock.now += 10
    assert recent.get("b") is None and recent.get("c") is None


def test_threads_share_one_map() -> None:
    recent: Recent[int, int] = Recent(64)
    wrong: list[int | None] = []

    def work(base: int) -> None:
        for i in range(2000):
            key = (base * 7 + i) % 200
            recent.put(key, key)
            got = recent.get(key)
            if got is not None and got != key:
                wrong.append(got)
            recent.pop(key + 1)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert wrong == [] and len(recent) <= 64


@pytest.mark.parametrize("max_size, ttl", [(0, None), (-1, None), (1, 0.0), (1, -5.0)])
def test_a_bound_or_time_to_live_that_keeps_nothing_is_refused(max_size: int, ttl: float | None) -> None:
    with pytest.raises(ValueError):
        Recent(max_size, ttl=ttl)
