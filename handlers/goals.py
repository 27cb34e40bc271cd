"""Goals from Slack (slash command, mention, DM) into the core's desk, and its answers back into Slack."""

from __future__ import annotations

import logging
import re
from typing import Any

from bot.core.desk import Answer, Desk
from bot.core.errors import MapleError, SurfaceError, SurfaceUnavailable
from bot.core.models import Origin
from bot.core.ports import View
from handlers.blocks import Block, choice_blocks, section
from handlers.mrkdwn import MESSAGE_BLOCK_LIMIT, SECTION_LIMIT, mrkdwn, split_text
from handlers.schedule_blocks import schedule_blocks

log = logging.getLogger("maple.goals")
MENTION = re.compile(r"^\s*<@[UW][A-Z0-9]+(\|[^>]*)?>[:,]?\s*")


def by_a_person(event: dict[str, Any], context: dict[str, Any]) -> bool:
    """Written by a person: not by a bot or an app (``bot_id``, ``bot_profile``, subtype ``bot_message``), and not
    by Maple's own bot user."""
    if event.get("bot_id") or event.get("bot_profile") or event.get("subtype") == "bot_message":
        return False
    user = event.get("user")
    return bool(user) and user != context.get("bot_user_id")


def ack_params(answer: Answer) -> dict[str, Any]:
    """The slash command's ephemeral ack for an answer."""
    body = mrkdwn(answer.text)
    blocks: list[Block] | None = None
    if answer.choices and answer.run_id:
        blocks = choice_blocks(run_id=answer.run_id, question=body, options=answer.choices, language=answer.language)
    elif answer.schedules:
        blocks = schedule_blocks(answer.text, answer.schedules, language=answer.language)
    elif len(body) > SECTION_LIMIT:  # a long answer (a goal over the limit shown back) in sections Slack accepts
        blocks = [section(chunk) for chunk in split_text(body)][:MESSAGE_BLOCK_LIMIT]
    body = split_text(body, SECTION_LIMIT)[0]
    return {"text": body, "blocks": blocks, "response_type": "ephemeral"}


async def answer_in_conversation(desk: Desk, *, user: str, origin: Origin, answer: Answer) -> None:
    """Answer a mention or DM that queued nothing. In a channel a private answer (status, a refusal, help)
    goes to the asker alone, as an ephemeral message in the thread; in a DM the conversation is private."""
    if answer.queued:
        return
    surface = desk.svc.surface
    try:
        if origin.kind == "dm" or not answer.private:
            await surface.post(channel=origin.channel, view=View(kind="notice", text=answer.text), run_id="",
                               effect="reply", thread_ts=origin.thread_ts)
        else:
            await _whisper(desk, user=user, origin=origin, answer=answer)
    except MapleError as exc:
        log.warning("could not answer in the conversation", extra={"error": type(exc).__name__})


async def _whisper(desk: Desk, *, user: str, origin: Origin, answer: Answer) -> None:
    """To the asker alone: ephemeral where they asked, or their DM when Slack cannot show it there (Maple is not a
    member of that channel) — never posted in the channel."""
    surface = desk.svc.surface
    try:
        await surface.post_ephemeral(channel=origin.channel, user=user, text=answer.text,
                                     thread_ts=origin.thread_ts if origin.in_thread else None)
    except SurfaceUnavailable:
        raise
    except SurfaceError:
        dm = await surface.open_dm(user=user)
        await surface.post(channel=dm, view=View(kind="notice", text=answer.text), run_id="", effect="reply")
