"""Cached Slack look-ups: single flight, a stale answer kept while refreshed, and a failed look-up not asked again
for a moment (a failing Slack is not asked once per request), with a test clock."""

from __future__ import annotations

from integrations.slack_lookups import Lookups


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Flaky:
    """A load that fails while ``failing``, and counts its calls."""

    def __init__(self) -> None:
        self.failing, self.calls = True, 0

    async def __call__(self, key: str) -> str:
        self.calls += 1
        if self.failing:
            raise ConnectionError("slack is down")
        return f"profile of {key}"


async def test_a_failed_look_up_is_not_asked_again_until_its_retry_time() -> None:
    clock, load = Clock(), Flaky()
    people: Lookups[str] = Lookups(name="users.info", load=load, ttl=600, retry_after=5, clock=clock)
    assert await people.get("U1", wait=1) is None and load.calls == 1
    assert await people.get("U1", wait=1) is None and load.calls == 1  # not asked again: unknown at once
    people.prefetch("U1")
    assert load.calls == 1
    load.failing = False
    clock.now += 5.5
    assert await people.get("U1", wait=1) == "profile of U1" and load.calls == 2
    assert await people.get("U2", wait=1) == "profile of U2"  # other keys were never held back
    await people.close()


async def test_without_a_retry_time_a_failed_look_up_is_asked_again_on_the_next_request() -> None:
    clock, load = Clock(), Flaky()
    installation: Lookups[str] = Lookups(name="auth.test", load=load, ttl=float("inf"), clock=clock)
    assert await installation.get("auth", wait=1) is None
    load.failing = False
    assert await installation.get("auth", wait=1) == "profile of auth" and load.calls == 2
    await installation.close()


async def test_a_cached_answer_outlives_a_failed_refresh() -> None:
    clock, load = Clock(), Flaky()
    load.failing = False
    people: Lookups[str] = Lookups(name="users.info", load=load, ttl=60, retry_after=5, clock=clock)
    assert await people.get("U1", wait=1) == "profile of U1"
    load.failing = True
    clock.now += 61  # stale: served while it is refreshed in the background
    assert await people.get("U1", wait=1) == "profile of U1"
    await people.close()
