"""Telling people things: the requester by direct message, idempotently."""

from __future__ import annotations

from bot.core import text
from bot.core.effects import Post, post_all
from bot.core.errors import MapleError
from bot.core.models import Run
from bot.core.ports import View
from bot.core.services import Services
from bot.core.text import Msg


def run_language(svc: Services, run: Run) -> str:
    """The requester's language: their Slack locale when the goal arrived, else the configured one."""
    return text.language_of(run.locale, svc.spec.language)


def for_requester(svc: Services, run: Run, message: Msg) -> Msg:
    return text.in_language(message, run_language(svc, run))


async def reader_language(svc: Services, user: str | None) -> str:
    """What Maple speaks to ``user`` in a message only they read: their Slack locale's language, else the
    configured one (also when Slack does not answer in time)."""
    if not user or svc.people is None:
        return svc.spec.language
    try:
        person = await svc.people.person(user)
    except MapleError:
        return svc.spec.language
    return text.language_of(person.locale, svc.spec.language)


async def language_at(svc: Services, run: Run, *, channel: str, reader: str | None = None) -> str:
    """The language of a message about ``run`` posted in ``channel``: a channel post follows the configured
    ``language:`` (many people read it); a direct message follows its reader's Slack locale — the requester's as
    recorded with the run, anyone else's (a reviewer, an admin) looked up."""
    if not channel.startswith("D"):
        return svc.spec.language
    if reader is None or reader == run.requester:
        return run_language(svc, run)
    return await reader_language(svc, reader)


async def tell_requester(svc: Services, run: Run, *, effect: str, message: Msg) -> Run:
    """A notice to the requester, in their language: in their DM — a reply to the run's message when it has one
    (bot/core/progress.py) — or, for a goal asked from the assistant pane, in that pane's thread (their DM too)."""
    run, _ = await post_all(svc, run, [await notice(svc, run, effect=effect, message=message)])
    return run


async def notice(svc: Services, run: Run, *, effect: str, message: Msg) -> Post:
    """The post of ``tell_requester``, to post with others (``post_all``)."""
    if run.origin.pane:
        channel, thread = run.origin.channel, run.origin.thread_ts
    else:
        channel = await svc.surface.open_dm(user=run.requester)
        progress = run.effects.get("progress")
        thread = progress.ts if progress is not None and progress.done and progress.channel == channel else None
    return Post(effect=f"notify:{effect}", channel=channel, thread_ts=thread,
                view=View(kind="notice", text=for_requester(svc, run, message), run=run,
                          language=run_language(svc, run)))
