"""Events of Slack's assistant pane, as Slack sends them, for scenario and browser tests."""

from __future__ import annotations

import itertools
from typing import Any

from tests.harness import Harness

_TS = itertools.count(1)
PANE = "D0REQUEST"  # the requester's DM with Maple: the pane's threads live there


def started(user: str, *, thread_ts: str, viewing: str | None = None, channel: str = PANE) -> dict[str, Any]:
    context = {"channel_id": viewing, "team_id": "T0TEST", "enterprise_id": None} if viewing else {}
    return {"type": "assistant_thread_started", "event_ts": thread_ts,
            "assistant_thread": {"user_id": user, "context": context, "channel_id": channel, "thread_ts": thread_ts}}


def context_changed(user: str, *, thread_ts: str, viewing: str, channel: str = PANE) -> dict[str, Any]:
    return {"type": "assistant_thread_context_changed", "event_ts": thread_ts,
            "assistant_thread": {"user_id": user, "channel_id": channel, "thread_ts": thread_ts,
                                 "context": {"channel_id": viewing, "team_id": "T0TEST", "enterprise_id": None}}}


def said(user: str, words: str, *, thread_ts: str, channel: str = PANE) -> dict[str, Any]:
    return {"type": "message", "user": user, "text": words, "channel": channel, "channel_type": "im",
            "thread_ts": thread_ts, "ts": f"{thread_ts.split('.')[0]}.{900000 + next(_TS)}", "team": "T0TEST"}


async def open_thread(h: Harness, user: str, *, thread_ts: str, viewing: str | None = None,
                      channel: str = PANE) -> None:
    """Start a pane thread and wait for Maple's greeting in it."""
    status, _ = await h.event(started(user, thread_ts=thread_ts, viewing=viewing, channel=channel))
    assert status == 200
    await h.wait_for(lambda: [p for p in h.slack.posted(channel) if p.get("thread_ts") == thread_ts],
                     what="the greeting")
