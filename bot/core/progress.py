"""The requester's run message: one message in their direct messages with Maple, posted when a worker takes the
run and updated through its life — drafting, with reviewers (who), approved or rejected (by whom, posted where),
cancelled, failed or refused — with Cancel while it is pending and Revise after a rejection. Notices about the run
are replies in its thread, so the conversation holds one message per run.

Only reviewed runs started by a person have one: an unreviewed answer arrives at once where it was asked, and a
schedule's firing is its owner's configuration. Updating it is cosmetic: a failed update is logged, never a
reason to fail the run."""

from __future__ import annotations

import logging

from bot.core import reviewers, text
from bot.core.effects import post_once
from bot.core.errors import SurfaceError
from bot.core.models import Run
from bot.core.notify import run_language
from bot.core.ports import MessageRef, View
from bot.core.services import Services

EFFECT = "progress"
log = logging.getLogger("maple.progress")


def tracked(svc: Services, run: Run) -> bool:
    """A reviewed run a person started — and whose goal holds no detected value (the message shows the goal)."""
    workflow = svc.spec.workflow(run.workflow)
    return (run.origin.kind != "schedule" and workflow is not None and workflow.review
            and not svc.assessment(run.goal)[1])


async def show(svc: Services, run: Run) -> Run:
    """Post the run message (once), or update it to show ``run`` as it is now."""
    if not tracked(svc, run):
        return run
    effect = run.effects.get(EFFECT)
    stuck = None
    if await reviewers.is_stuck(svc, run):
        stuck = text.msg("progress_stuck", why=await reviewers.stuck_reason(svc, run))
    view = View(kind="progress", run=run, notice=stuck, language=run_language(svc, run))  # the requester's DM
    if effect is not None and effect.done and effect.ts:
        try:
            await svc.surface.update(ref=MessageRef(channel=effect.channel, ts=effect.ts), view=view)
        except SurfaceError as exc:
            log.warning("could not update the run message", extra={"run_id": run.id, "error": type(exc).__name__})
        return run
    channel = await svc.surface.open_dm(user=run.requester)
    run, _ = await post_once(svc, run, effect=EFFECT, channel=channel, view=view)
    return run

