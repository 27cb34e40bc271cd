"""Membership news between the processes answering Slack (integrations/redis_memberships.py): what another
process heard drops the cached list it names, our own news is not applied twice, a malformed message is ignored,
and an unreachable Redis neither stops a process from starting nor from handling its own events."""

from __future__ import annotations

import asyncio
import json

import redis.asyncio as aioredis

from integrations.redis_memberships import MembershipNews


class Surface:
    def __init__(self) -> None:
        self.calls: list[tuple[str, object]] = []

    def forget_group(self, group_id: str | None = None) -> None:
        self.calls.append(("forget_group", group_id))

    def forget_channel(self, channel: str) -> None:
        self.calls.append(("forget_channel", channel))

    def member_changed(self, *, channel: str, user: str, joined: bool) -> None:
        self.calls.append(("member_changed", (channel, user, joined)))


def unreachable() -> aioredis.Redis:
    return aioredis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.5, socket_timeout=0.5)


def test_news_from_another_process_drops_the_list_it_names() -> None:
    surface = Surface()
    news = MembershipNews(redis=unreachable(), prefix="t:", surface=surface)
    news.heard(json.dumps({"from": "elsewhere", "channel": "C0TEAM"}))
    news.heard(json.dumps({"from": "elsewhere", "group": "S0REVIEW"}))
    news.heard(json.dumps({"from": "elsewhere", "group": None}))
    for junk in (b"not json", "[1]", json.dumps({"from": "elsewhere", "channel": 7}), json.dumps({"from": "x"})):
        news.heard(junk)
    assert surface.calls == [("forget_channel", "C0TEAM"), ("forget_group", "S0REVIEW"), ("forget_group", None)]


def test_own_news_is_applied_once_and_survives_an_unreachable_redis() -> None:
    surface = Surface()
    news = MembershipNews(redis=unreachable(), prefix="t:", surface=surface)
    sent: list[str] = []

    async def publish(doc: str) -> None:
        sent.append(doc)

    async def scenario() -> None:
        await news.open()  # Redis is down: no error, it keeps trying in the background
        news.member_changed(channel="C0TEAM", user="U0A", joined=False)
        news.group_changed("S0REVIEW")
        await asyncio.gather(*news._sending)  # the publishes failed, logged
        news._publish = publish  # type: ignore[method-assign]
        news.member_changed(channel="C0TEAM", user="U0B", joined=True)
        await asyncio.gather(*news._sending)
        await news.close()

    asyncio.run(scenario())
    assert surface.calls == [("member_changed", ("C0TEAM", "U0A", False)), ("forget_group", "S0REVIEW"),
                             ("member_changed", ("C0TEAM", "U0B", True))]
    assert len(sent) == 1
    news.heard(sent[0])  # our own news, back from Redis: already applied
    assert len(surface.calls) == 3


def test_a_forged_deeply_nested_message_does_not_stop_the_listener() -> None:
    """Anyone who can publish on {prefix}memberships must at worst drop caches: a message nested deep enough to
    make json raise RecursionError (not a ValueError) killed the listening task, and every later news was lost."""
    surface = Surface()
    r = aioredis.from_url("redis://127.0.0.1:6379/0")
    prefix = f"t-forged-{id(surface)}:"
    news = MembershipNews(redis=r, prefix=prefix, surface=surface)

    async def scenario() -> None:
        await news.open()
        await r.publish(f"{prefix}memberships", "[" * 200_000)
        await r.publish(f"{prefix}memberships", json.dumps({"from": "elsewhere", "channel": "C0TEAM"}))
        for _ in range(500):  # a generous cap, not a timing assumption
            if surface.calls or news._task is None or news._task.done():
                break
            await asyncio.sleep(0.02)
        alive = news._task is not None and not news._task.done()
        await news.close()
        await r.aclose()
        assert alive, "the listener died on a forged message"

    asyncio.run(scenario())
    assert surface.calls == [("forget_channel", "C0TEAM")]
