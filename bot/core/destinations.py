"""Where a draft or result may go, by its sensitivity: public channels, private channels, DMs, Slack Connect
channels and guest accounts each have a ceiling (``channels:`` in the config). Fail closed."""

from __future__ import annotations

from bot.core.levels import Sensitivity
from bot.core.models import Run
from bot.core.services import Services


async def ceiling(svc: Services, *, channel: str) -> Sensitivity:
    place = await svc.surface.place(channel=channel)
    return Sensitivity(getattr(svc.spec.channels, place.kind))


async def may_receive(svc: Services, *, run: Run, channel: str, user: str | None = None) -> bool:
    """May ``run``'s content be posted in ``channel`` (seen by ``user`` when it is a DM)?"""
    if run.sensitivity > await ceiling(svc, channel=channel):
        return False
    return user is None or not await svc.surface.is_guest(user=user) or run.sensitivity <= svc.spec.channels.guests

