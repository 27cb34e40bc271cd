"""Follow-ups: a reply in the thread of a draft waiting for review ("shorter", "more formal", "add the date")
revises it as a new version of the same run.

The reply is a goal like any other at intake — checked for size, refused while intake is paused, throttled, and
refused (``AccessDenied``) for anyone but the requester and for someone who may not run the run's workflow. Then, in one compare-and-set: the run must still be in review, it goes
back to drafting, the approvals given so far are cleared (they were for the old text) and the follow-up is kept on
the run. A worker drafts again through the same steps — the whole request (the goal, the previous draft, every
follow-up) is assessed, routed, generated and checked again — and the new version goes back to the reviewers:
their review messages are updated in place and say what changed. A click made on the old version is refused
(decisions bind to the version seen).
"""

from __future__ import annotations

from bot.core import intake, text
from bot.core.errors import AccessDenied, InputError, InvalidTransition
from bot.core.models import AuditIntent, FollowUp, Job, Origin, Run, RunState
from bot.core.services import Services
from bot.core.states import transition

MAX_FOLLOWUPS = 5


async def open_in_thread(svc: Services, origin: Origin) -> Run | None:
    """The newest run started in this thread, when it is waiting for review."""
    if not origin.in_thread or not origin.thread_ts:
        return None
    run = await svc.store.latest_in_thread(channel=origin.channel, thread_ts=origin.thread_ts)
    return run if run is not None and run.state is RunState.IN_REVIEW else None


def asked(run: Run) -> str:
    """What the model is asked: the goal, and for a revision the previous draft and every follow-up."""
    if not run.followups:
        return run.goal
    previous = run.draft.text if run.draft else ""
    wants = "\n".join(f"- {f.text}" for f in run.followups)
    return f"{run.goal}\n\n--- the previous draft ---\n{previous}\n\n--- revise it as asked ---\n{wants}"


async def revise(svc: Services, *, run: Run, user: str, instruction: str) -> Run:
    """Queue a new version of ``run`` as ``instruction`` asks. Raises InputError, AccessDenied, RateLimited,
    InvalidTransition (no longer in review).

    Only the requester revises their run: anyone else replying in the thread (a reviewer above all, who could then
    approve the text they steered) is refused. Paused intake stops follow-ups too: each is new work for a model."""
    instruction = intake.check_goal(svc, instruction)
    workflow = svc.spec.workflow(run.workflow)
    if workflow is None:
        raise InputError(text.unknown_workflow(run.workflow))
    arrived = intake.Intake(requester=user, origin=run.origin, goal=instruction, workflow=workflow.id)
    intake.check_open(svc, arrived)  # operators paused intake: a follow-up starts new work too
    await intake.authorize_run(svc, user=user, workflow=workflow)
    if user != run.requester:
        raise AccessDenied(text.msg("revise_not_yours"))
    await intake.throttle(svc, arrived)
    at = svc.clock.now()
    digest = svc.audit.text_attrs("maple.followup.text", instruction)

    def apply(r: Run) -> None:
        if r.state is not RunState.IN_REVIEW:
            raise InvalidTransition(text.not_in_review(r.state.value.replace("_", " ")))
        if len(r.followups) >= MAX_FOLLOWUPS:
            raise InputError(text.msg("followups_max", count=MAX_FOLLOWUPS))
        transition(r, RunState.DRAFTING)
        r.followups.append(FollowUp(by=user, text=instruction, at=at, version=r.draft_version))
        r.approvals.clear()
        r.outbox.append(AuditIntent(id=f"{r.id}:followup:{len(r.followups)}", kind="draft.followup", actor=user,
                                    attrs={"maple.draft.version": r.draft_version, **digest}))

    return await svc.mutate(run.id, apply, job=Job(run_id=run.id, kind="draft"))


def revision_of(run: Run) -> FollowUp | None:
    """The follow-up the current draft answers (None when it is not a revision, or was edited since)."""
    if not run.followups or run.draft is None:
        return None
    last = run.followups[-1]
    return last if run.draft.author.startswith("model:") and run.draft_version == last.version + 1 else None
