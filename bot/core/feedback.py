"""Feedback on delivered answers: 👍 / 👎 from the people the answer is for, recorded in the audit trail with the
run's workflow and model, and counted per workflow and model for the admins' ``/maple status``.

Who may vote: anyone who may see the run (its requester, its reviewers, the admins) or who may run its workflow —
a person with no role in Maple is refused like any other action. One vote per person per run: the first counts,
a second click changes nothing. The audit event goes first, under an id made of the run and the voter, so a vote
that was audited but not counted (a crash in between) is audited once when it is clicked again.
"""

from __future__ import annotations

from typing import Literal

from bot.core import text
from bot.core.errors import NotFound
from bot.core.models import Run, RunState
from bot.core.services import Services
from bot.core.text import Msg

Vote = Literal["good", "bad"]
VOTES: tuple[Vote, ...] = ("good", "bad")
NO_MODEL = "none"  # a deterministic tool answered (calc), or Maple itself ("not covered")


def model_of(run: Run) -> str:
    draft = run.draft
    return (draft.model if draft is not None and draft.model else NO_MODEL)[:64]


async def give(svc: Services, *, run_id: str, user: str, vote: str) -> Msg:
    """Record ``user``'s vote on a delivered run; the answer to show them (never raises for their mistakes)."""
    if svc.feedback is None or vote not in VOTES:
        return text.FEEDBACK_UNAVAILABLE
    try:
        run = await svc.store.get(run_id)
    except NotFound:
        return text.run_not_found(run_id)
    workflow = svc.spec.workflow(run.workflow)
    allowed = await svc.access.may_view(user, run, workflow) or (
        workflow is not None and await svc.access.may_run(user, workflow))
    if not allowed:  # before anything about the run is said
        return text.FEEDBACK_DENIED
    if run.state is not RunState.DELIVERED:
        return text.msg("feedback_not_delivered", run=run.id, state=run.state.value.replace("_", " "))
    model = model_of(run)
    await svc.audit.append(kind="feedback.given", run_id=run.id, actor=user, event_id=f"feedback:{run.id}:{user}",
                           attrs={"maple.workflow": run.workflow, "maple.model": model,
                                  "maple.vote": "positive" if vote == "good" else "negative"})
    if not await svc.feedback.vote(run_id=run.id, user=user, workflow=run.workflow, model=model,
                                   positive=vote == "good"):
        return text.msg("feedback_again", run=run.id)
    return text.msg("feedback_thanks", run=run.id, vote="👍" if vote == "good" else "👎")


async def report(svc: Services, user: str) -> Msg:
    """For admins: the votes per workflow and model (``/maple status``)."""
    if not await svc.access.is_admin(user):
        return text.unknown_command("status")
    if svc.feedback is None:
        return text.FEEDBACK_UNAVAILABLE
    tallies = await svc.feedback.tallies()
    if not tallies:
        return text.FEEDBACK_NONE
    rows = [text.msg("feedback_line", workflow=t.workflow, model=t.model, up=t.up, down=t.down) for t in tallies[:40]]
    return text.lines([text.msg("feedback_head"), *rows])
