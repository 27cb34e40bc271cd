"""Feedback on delivered answers: 👍 / 👎 from the people the answer is for, recorded in the audit trail with the
run's workflow and model, and counted per workflow and model for the admins' ``/maple status``.

Who may vote: on an answer delivered in a direct message (the assistant pane's included) only its requester — no one
else can see it; on an answer in a channel, anyone who may see the run (its requester, its reviewers, the admins) or
who may run its workflow. A person with no role in Maple is refused like any other action. One vote per person per
delivered version: the first counts, a second click changes nothing. A follow-up that revises a delivered answer
starts a new round (bot/core/followups.py): the new answer's buttons name it (``R-…@r1:good``) and a click on the
buttons of an earlier answer is refused — a vote binds to the answer seen. The audit event goes first, under an
id made of the run, the round and the voter, so a vote that was audited but not counted (a crash in between) is
audited once when it is clicked again.
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


def answer_ref(run: Run) -> str:
    """What a feedback button carries besides the vote: the run, and its round after a follow-up."""
    return f"{run.id}@r{run.round}" if run.round else run.id


def _parse(ref: str) -> tuple[str, int | None]:
    run_id, _, tail = ref.partition("@r")
    return run_id, (int(tail) if tail.isdigit() and len(tail) < 4 else None) if tail else 0


async def give(svc: Services, *, run_id: str, user: str, vote: str) -> Msg:
    """Record ``user``'s vote on a delivered run (``run_id`` as the button carries it: ``R-…`` or ``R-…@r1``); the
    answer to show them (never raises for their mistakes)."""
    run_id, seen = _parse(run_id)
    if svc.feedback is None or vote not in VOTES or seen is None:
        return text.FEEDBACK_UNAVAILABLE
    try:
        run = await svc.store.get(run_id)
    except NotFound:
        return text.run_not_found(run_id)
    if not await _may_vote(svc, user, run):
        return text.FEEDBACK_DENIED
    if run.state is not RunState.DELIVERED:
        return text.msg("feedback_not_delivered", run=run.id, state=run.state.value.replace("_", " "))
    if seen != run.round:
        return text.msg("feedback_old_answer", run=run.id)
    model = model_of(run)
    key = answer_ref(run)
    event_id = f"feedback:{run.id}:r{run.round}:{user}" if run.round else f"feedback:{run.id}:{user}"
    await svc.audit.append(kind="feedback.given", run_id=run.id, actor=user, event_id=event_id,
                           attrs={"maple.workflow": run.workflow, "maple.model": model,
                                  "maple.vote": "positive" if vote == "good" else "negative"})
    if not await svc.feedback.vote(run_id=key, user=user, workflow=run.workflow, model=model,
                                   positive=vote == "good"):
        return text.msg("feedback_again", run=run.id)
    return text.msg("feedback_thanks", run=run.id, vote="👍" if vote == "good" else "👎")


async def _may_vote(svc: Services, user: str, run: Run) -> bool:
    result = run.effects.get("result") or next((e for n, e in run.effects.items() if n.endswith("/result")), None)
    if result is not None and result.channel.startswith("D"):  # a direct message: its requester's alone
        return user == run.requester
    workflow = svc.spec.workflow(run.workflow)
    return await svc.access.may_view(user, run, workflow) or (
        workflow is not None and await svc.access.may_run(user, workflow))


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
