"""Telling people things: the requester by direct message, idempotently."""

from __future__ import annotations

from bot.core.effects import post_once
from bot.core.models import Run
from bot.core.ports import View
from bot.core.services import Services
from bot.core.text import Msg


async def tell_requester(svc: Services, run: Run, *, effect: str, message: Msg) -> Run:
    """In their DM — or, for a goal asked from the assistant pane, in that pane's thread (it is their DM too)."""
    if run.origin.pane:
        channel, thread_ts = run.origin.channel, run.origin.thread_ts
    else:
        channel, thread_ts = await svc.surface.open_dm(user=run.requester), None
    run, _ = await post_once(svc, run, effect=f"notify:{effect}", channel=channel, thread_ts=thread_ts,
                             view=View(kind="notice", text=message, run=run))
    return run
