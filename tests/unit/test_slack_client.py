"""The Web API client keeps its connections (integrations/slack_surface.py ``KeptAliveClient``): calls reuse one
HTTP session instead of opening a TCP connection each, a closed session is replaced, and retries still work."""

from __future__ import annotations

import asyncio

import pytest

from bot.core.errors import SurfaceError
from bot.core.lru import Recent
from integrations.slack_surface import DM_MAX, DM_TTL, KeptAliveClient, SlackSurface, call, make_client
from tests.fakes.slack_api import FakeSlack


async def test_calls_reuse_one_connection(slack: FakeSlack) -> None:
    client = make_client(token="xoxb-test", base_url=slack.url)
    assert isinstance(client, KeptAliveClient)
    try:
        for _ in range(5):
            await call(client, "auth.test")
        await asyncio.gather(*(call(client, "chat.postMessage", channel="C0GENERAL", text="hi") for _ in range(3)))
        assert len([c for c in slack.calls if c.ok]) == 8
        assert len(slack.connections) <= 3  # the five one after another on one; three at once on at most three
    finally:
        await client.close()
    assert client.session is None
    await call(client, "auth.test")  # closed: the next call opens a new session
    assert client.session is not None and not client.session.closed
    await client.close()


async def test_a_rate_limited_call_is_retried_on_the_kept_connection(slack: FakeSlack) -> None:
    client = make_client(token="xoxb-test", base_url=slack.url)
    slack.fail_next("chat.postMessage", retry_after=0)
    try:
        sent = await call(client, "chat.postMessage", channel="C0GENERAL", text="hi")
    finally:
        await client.close()
    assert sent["ok"] and [c.ok for c in slack.calls if c.method == "chat.postMessage"] == [False, True]
    assert len(slack.connections) == 1


async def test_a_persons_dm_channel_is_asked_for_once(slack: FakeSlack) -> None:
    """Slack gives the same DM channel for the same person every time: every notice to them after the first posts
    without a conversations.open; a failed open is not remembered."""
    client = make_client(token="xoxb-test", base_url=slack.url)
    surface = SlackSurface(client=client, render=lambda view: ("", []))
    try:
        first = [await surface.open_dm(user="U0REQUEST") for _ in range(3)]
        other = await surface.open_dm(user="U0REVIEW")
        slack.fail_next("conversations.open", error="fatal_error", status=200)
        with pytest.raises(SurfaceError):
            await surface.open_dm(user="U0ADMIN")
        again = await surface.open_dm(user="U0ADMIN")
    finally:
        await surface.close()
    opened = [c.params["users"] for c in slack.calls if c.method == "conversations.open" and c.ok]
    assert len(set(first)) == 1 and other != first[0] and again.startswith("D")
    assert opened == ["U0REQUEST", "U0REVIEW", "U0ADMIN"]


async def test_a_persons_dm_channel_is_asked_for_again_after_a_day(slack: FakeSlack) -> None:
    """The DM channel id is kept for ``DM_TTL`` seconds (on a fake clock here), then Slack is asked again."""
    now = [1000.0]
    client = make_client(token="xoxb-test", base_url=slack.url)
    surface = SlackSurface(client=client, render=lambda view: ("", []))
    surface._dms = Recent(DM_MAX, ttl=DM_TTL, clock=lambda: now[0])
    try:
        first = await surface.open_dm(user="U0REQUEST")
        now[0] += DM_TTL - 1
        assert await surface.open_dm(user="U0REQUEST") == first
        now[0] += 1
        again = await surface.open_dm(user="U0REQUEST")
    finally:
        await surface.close()
    opened = [c.params["users"] for c in slack.calls if c.method == "conversations.open" and c.ok]
    assert opened == ["U0REQUEST", "U0REQUEST"] and again == first
