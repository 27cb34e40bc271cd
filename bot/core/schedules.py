"""Recurring workflows: a schedule fires → a run is submitted on behalf of its requester, like a goal typed in Slack.

The requester's permissions apply as if they had typed it (a digest reads only channels they are a member of)."""

from __future__ import annotations

from bot.core import intake
from bot.core.models import Origin, Run
from bot.core.services import Services
from bot.core.spec import ScheduleSpec


async def fire(svc: Services, schedule: ScheduleSpec) -> Run:
    origin = Origin(kind="schedule", channel=schedule.channel)
    run = await intake.submit(svc, intake.Intake(requester=schedule.requester, origin=origin, goal=schedule.goal,
                                                 workflow=schedule.workflow))
    await svc.record("schedule.fired", run, actor=schedule.requester, attrs={"maple.schedule.id": schedule.id})
    return run
