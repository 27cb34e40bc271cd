"""What operators do to runs from the command line (``maple runs retry|cancel``): each a compare-and-set write
with its audit event, through the same ``Services`` the workers use."""

from __future__ import annotations

from bot.core import text
from bot.core.errors import InvalidTransition
from bot.core.models import AuditIntent, Job, Run, RunState
from bot.core.notify import for_requester, tell_requester
from bot.core.services import Services
from bot.core.states import reopen, transition


def _intent(run: Run, kind: str, actor: str, **attrs: str) -> AuditIntent:
    return AuditIntent(id=f"{run.id}:{kind}:{run.version + 1}", kind=kind, actor=actor, attrs=attrs)


async def retry(svc: Services, run_id: str, *, by: str) -> Run:
    """Run a failed run again: one that was approved is delivered again, any other starts over from its draft.
    Whatever was already posted is not posted again (every post is a recorded effect); the notice that it failed
    may be sent again if it fails again. InvalidTransition for a run that is not failed."""
    def again(r: Run) -> None:
        approved = r.decision is not None and r.decision.kind == "approve"
        state = RunState.APPROVED if approved else RunState.QUEUED
        reopen(r, state)
        r.error = None
        r.effects.pop("notify:failed", None)
        r.outbox.append(_intent(r, "run.retried", by, **{"maple.state": state.value}))

    def job(r: Run) -> Job:
        return Job(run_id=r.id, kind="deliver" if r.state is RunState.APPROVED else "draft")

    return await svc.mutate(run_id, again, job=job)


async def cancel(svc: Services, run_id: str, *, by: str) -> Run:
    """Stop a run that has not finished: it is marked failed and its requester is told an operator cancelled it.
    A job of it already in a worker finds it finished and does nothing more. InvalidTransition when finished."""

    def stop(r: Run) -> None:
        if r.terminal:
            raise InvalidTransition(f"run {r.id} is {r.state.value}: nothing to cancel")
        transition(r, RunState.FAILED)
        r.error = str(for_requester(svc, r, text.CANCELLED))  # kept as the requester reads it
        r.outbox.append(_intent(r, "run.cancelled", by))

    run = await svc.mutate(run_id, stop)
    return await tell_requester(svc, run, effect="failed", message=text.told_failed(run.id, text.CANCELLED))
