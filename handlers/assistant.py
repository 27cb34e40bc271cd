"""The assistant pane — Slack's surface for AI apps — on Bolt's ``AsyncAssistant`` middleware.

Slack delivers the pane's events through the same front door as everything else (handlers/front.py: tenant, used
once, each event once); Bolt's middleware then routes them here:

- ``assistant_thread_started``: a greeting and suggested prompts — the first example of each workflow this person
  may run (``Desk.suggestions``), none they may not. The greeting carries the viewed channel in its metadata (Bolt's
  default thread-context store keeps it there, so every Maple process finds it in Slack).
- ``assistant_thread_context_changed``: Bolt's default listener saves the newly viewed channel the same way.
- a person's message in the pane's thread: the thread's title becomes the goal, the status says Maple is reading
  it, and the goal goes through ``Desk.handle`` exactly as a DM would — classification, access, throttles,
  routing, review, audit. The only differences are on the run's origin: ``pane`` (a worker shows a status while it
  drafts) and ``context_channel``, the channel the person is viewing, which a workflow that reads channels
  (``slack_history``) reads when the goal names none — only if the person is a member, as for any other read.

Titles and statuses are cosmetic: a failure to set one is logged and never stops the goal.

The middleware runs only for Events API payloads (``PaneOnly``): every listener it holds is for an event, and
trying their matchers on each slash command and click cost the ack path about a fifth of Bolt's dispatch.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncAssistant, AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.core import text
from bot.core.desk import Desk
from bot.core.models import Origin
from bot.core.text import CHANNEL_ID
from handlers.goals import answer_in_conversation, by_a_person
from handlers.mrkdwn import mrkdwn

log = logging.getLogger("maple.assistant")
TITLE_CHARS = 80


class PaneOnly(AsyncAssistant):
    """Bolt's assistant middleware, skipped for anything but an Events API payload (commands, clicks, modals)."""

    async def async_process(self, *, req: AsyncBoltRequest, resp: BoltResponse,
                            next: Callable[[], Awaitable[BoltResponse]]) -> BoltResponse | None:
        if req.body.get("type") != "event_callback":
            return await next()
        return await super().async_process(req=req, resp=resp, next=next)


def build_assistant(*, desk: Desk) -> AsyncAssistant:
    assistant = PaneOnly()

    @assistant.thread_started
    async def on_started(event: dict[str, Any], say: Any, set_suggested_prompts: Any) -> None:
        user = str((event.get("assistant_thread") or {}).get("user_id") or event.get("user") or "")
        prompts = await desk.suggestions(user) if user else []
        await say(text=mrkdwn(text.pane_greeting(user, any_workflow=bool(prompts))))
        if prompts:
            await _quietly(set_suggested_prompts(prompts=[{"title": t, "message": m} for t, m in prompts],
                                                 title=str(text.PANE_PROMPTS_TITLE)), "suggested prompts")

    @assistant.user_message
    async def on_message(event: dict[str, Any], context: dict[str, Any], set_status: Any, set_title: Any,
                         get_thread_context: Any) -> None:
        if event.get("subtype") or not by_a_person(event, context):
            return
        goal = event.get("text") or ""
        await _quietly(set_title(title=_title(desk, goal)), "title")
        await _quietly(set_status(status=str(text.PANE_THINKING)), "status")
        origin = Origin(kind="dm", channel=event.get("channel", ""), thread_ts=event.get("thread_ts"), in_thread=True,
                        team=event.get("team"), pane=True, context_channel=await _viewed(get_thread_context))
        user = event.get("user", "")
        answer = await desk.handle(user=user, origin=origin, raw=goal)
        await answer_in_conversation(desk, user=user, origin=origin, answer=answer)

    return assistant


def _title(desk: Desk, goal: str) -> str:
    """The thread's title: the goal — never one holding a detected value (Slack keeps titles in the pane's
    history), which Maple does not repeat back."""
    if desk.svc.assessment(goal)[1]:
        return str(text.msg("goal_withheld"))
    flat = " ".join(goal.split())
    return flat if len(flat) <= TITLE_CHARS else flat[: TITLE_CHARS - 1] + "…"


async def _viewed(get_thread_context: Any) -> str | None:
    """The channel the person is viewing (a channel id, never a DM), or None when Slack did not say. In a DM thread
    that is not a pane's (a reply under Maple's answer to a DM), Bolt's store finds Maple's own message metadata —
    a run's, not a thread context — and cannot read it: nothing is being viewed."""
    try:
        found = await get_thread_context()
    except (KeyError, TypeError, ValueError) as exc:
        log.info("no thread context in this DM thread", extra={"error": type(exc).__name__})
        return None
    except (SlackApiError, SlackClientError, OSError, TimeoutError) as exc:
        log.warning("could not read the pane's thread context", extra={"error": type(exc).__name__})
        return None
    channel = str((found or {}).get("channel_id") or "")
    return channel if CHANNEL_ID.match(channel) and not channel.startswith("D") else None


async def _quietly(call: Awaitable[Any], what: str) -> None:
    try:
        await call
    except (SlackApiError, SlackClientError, OSError, TimeoutError) as exc:
        log.warning("could not set the pane's %s", what, extra={"error": type(exc).__name__})
