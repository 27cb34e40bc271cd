"""What operators do to runs from the command line (``maple runs retry|cancel``): each a compare-and-set write
with its audit event, through the same ``Services`` the workers use."""

from __future__ import annotations

import logging

from bot.core import text
from bot.core.errors import InvalidTransition, SurfaceError
from bot.core.models import AuditIntent, Decision, Job, Run, RunState
from bot.core.notify import for_requester, tell_requester
from bot.core.services import Services
from bot.core.states import reopen, transition

log = logging.getLogger("maple.operate")


def _intent(run: Run, kind: str, actor: str, **attrs: str) -> AuditIntent:
    return AuditIntent(id=f"{run.id}:{kind}:{run.version + 1}", kind=kind, actor=actor, attrs=attrs)


async def retry(svc: Services, run_id: str, *, by: str) -> Run:
    """Run a failed run again: one that was approved is delivered again, any other starts over from its draft.
    Whatever was already posted is not posted again (every post is a recorded effect); the notice that it failed
    may be sent again if it fails again. InvalidTransition for a run that is not failed, or that an operator
    cancelled (cancelled stays cancelled: the requester was told so), or whose requester may no longer run its
    workflow (a deactivated account, a role taken away): it would be drafted and delivered in their name."""
    current = await svc.store.get(run_id)
    workflow = svc.spec.workflow(current.workflow) if current.workflow else None
    if workflow is not None and not await svc.access.may_run(current.requester, workflow):
        raise InvalidTransition(f"run {run_id}: its requester may no longer run {workflow.id}; it is not run again")

    def again(r: Run) -> None:
        if r.decision is not None and r.decision.kind == "cancel":
            raise InvalidTransition(f"run {r.id} was cancelled by {r.decision.by}: it is not run again")
        approved = r.decision is not None and r.decision.kind == "approve"
        state = RunState.APPROVED if approved else RunState.QUEUED
        reopen(r, state)
        if not approved:
            r.approvals.clear()  # given to the text drafted before; the new one is reviewed from scratch
        r.error = None
        r.effects.pop("notify:failed", None)
        r.outbox.append(_intent(r, "run.retried", by, **{"maple.state": state.value}))

    def job(r: Run) -> Job:
        return Job(run_id=r.id, kind="deliver" if r.state is RunState.APPROVED else "draft")

    return await svc.mutate(run_id, again, job=job)


async def cancel(svc: Services, run_id: str, *, by: str) -> Run:
    """Stop a run that has not finished: it is marked failed, its requester is told an operator cancelled it, and a
    worker shows the end on its review messages (no more buttons) and its run message. A job of it already in a
    worker finds it finished and does nothing more; ``retry`` refuses it. InvalidTransition when finished."""
    at = svc.clock.now()

    def stop(r: Run) -> None:
        if r.terminal:
            raise InvalidTransition(f"run {r.id} is {r.state.value}: nothing to cancel")
        transition(r, RunState.FAILED)
        r.error = str(for_requester(svc, r, text.CANCELLED))  # kept as the requester reads it
        r.decision = Decision(kind="cancel", by=by, at=at)  # an approval it had is in the audit trail
        r.outbox.append(_intent(r, "run.cancelled", by))

    run = await svc.mutate(run_id, stop, job=Job(run_id=run_id, kind="refresh_reviews"))  # messages show the end
    try:
        return await tell_requester(svc, run, effect="failed", message=text.told_failed(run.id, text.CANCELLED))
    except SurfaceError as exc:  # the run is cancelled all the same; its run message shows it
        log.warning("cancelled, but the requester could not be told", extra={"run_id": run.id,
                                                                             "error": type(exc).__name__})
        return run
