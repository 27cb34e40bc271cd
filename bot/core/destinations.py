"""Where a run's content may be shown — the one gate for results, review messages and escalations.

Three rules, all fail closed:
- **Sensitivity**: each kind of destination has a ceiling (``channels:`` — public, private, DM, Slack Connect).
- **Guests**: content above ``channels.guests`` never reaches a destination with a guest in it — the person of
  a DM, or any member of a channel (checked against the workspace's guest accounts; when those are not known,
  members are asked about one by one, and a channel too large for that is treated as having guests).
- **Audience**: text read from a private channel or a DM may reach only people who can read that source
  (``Run.audience``): a DM's person or every member of a private channel must be in it; a public channel, which
  anyone in the workspace can join, never receives such content.
"""

from __future__ import annotations

import asyncio

from bot.core import text
from bot.core.desk import private_result
from bot.core.levels import Sensitivity
from bot.core.models import Run
from bot.core.ports import Place
from bot.core.services import Services
from bot.core.text import Msg

MAX_MEMBERS_CHECKED = 1000


async def ceiling(svc: Services, *, place: Place) -> Sensitivity:
    return Sensitivity(getattr(svc.spec.channels, place.kind))


async def readers(svc: Services, *, channel: str, place: Place, user: str | None) -> frozenset[str] | None:
    """Who can read ``channel``: the person of a DM, a channel's members (None: a public channel's readers are
    everyone in the workspace)."""
    if place.kind == "dm":
        return frozenset({user}) if user else None
    return await svc.access.channel_members(channel)


async def refusal(svc: Services, *, run: Run, channel: str, user: str | None = None) -> Msg | None:
    """Why ``run``'s content may not be shown in ``channel`` — a DM with ``user`` when ``user`` is given —
    or None when it may."""
    place = await svc.surface.place(channel=channel)
    level = run.sensitivity
    if level > await ceiling(svc, place=place):
        return text.msg("too_sensitive_for", level=level.label, place=place.kind)
    if level <= svc.spec.channels.guests and run.audience.open:
        return None  # anyone in the workspace may read it: no need to know who is there
    members = await readers(svc, channel=channel, place=place, user=user)
    if not members:
        return text.msg("unknown_reader")  # fail closed: who would read it is not known
    if level > svc.spec.channels.guests and await _has_guest(svc, members):
        return text.msg("guest_in_destination", level=level.label)
    if not run.audience.open and (place.kind == "public" or not run.audience.admits(members)):
        return text.msg("outside_audience", sources=_sources(run))
    return None


async def may_receive(svc: Services, *, run: Run, channel: str, user: str | None = None) -> bool:
    return await refusal(svc, run=run, channel=channel, user=user) is None


async def _has_guest(svc: Services, members: frozenset[str]) -> bool:
    guests = await svc.access.guests()
    if guests is not None:
        return bool(members & guests)
    if len(members) > MAX_MEMBERS_CHECKED:
        return True  # fail closed: the workspace's guests are not known and there are too many to ask about
    limit = asyncio.Semaphore(8)

    async def guest(user: str) -> bool:
        async with limit:
            return await svc.surface.is_guest(user=user)

    return any(await asyncio.gather(*(guest(u) for u in sorted(members))))


def _sources(run: Run) -> Msg:
    named = [text.msg("a_collection", name=s.removeprefix("kb:")) if s.startswith("kb:")
             else text.msg("raw", text=text.Channel(s)) if not s.startswith("D") else text.msg("a_dm")
             for s in run.audience.sources[:5]]
    return text.lines(named, sep=", ")


async def deliver_to(svc: Services, run: Run) -> tuple[str, str | None, str | None]:
    """Where the workflow's deliver step says — the origin (its thread for mentions and DMs), a channel, or
    the requester's DM — as (channel, thread, the person of a DM)."""
    workflow = svc.spec.workflow(run.workflow)
    if workflow is not None and private_result(run, workflow):  # unreviewed model text a person asked for
        if run.origin.pane and run.origin.thread_ts:  # asked in the pane: its thread, in the requester's DM
            return run.origin.channel, run.origin.thread_ts, run.requester
        return await svc.surface.open_dm(user=run.requester), None, run.requester
    step = next((s for s in (workflow.steps if workflow else []) if s.kind == "deliver"), None)
    if step is not None and step.to == "channel" and step.channel:
        return step.channel, None, None
    if step is not None and step.to == "dm":
        return await svc.surface.open_dm(user=run.requester), None, run.requester
    person = run.requester if run.origin.kind == "dm" else None
    return run.origin.channel, run.origin.thread_ts, person
