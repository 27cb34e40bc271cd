"""Reviewers' decisions. Transitions are optimistic writes in the store: of two concurrent clicks exactly one
wins; a repeated click finds the run already decided and changes nothing."""

from __future__ import annotations

from typing import Literal

from bot.core import text
from bot.core.errors import AccessDenied, InputError, InvalidTransition, NotFound
from bot.core.models import Decision, DraftVersion, Job, Run, RunState
from bot.core.policy import blocking, check_draft
from bot.core.services import Services
from bot.core.spec import WorkflowSpec
from bot.core.states import transition


async def load_for_review(
    svc: Services, *, run_id: str, user: str, approve: bool
) -> tuple[Run, WorkflowSpec]:
    """The run and its workflow, or AccessDenied/InvalidTransition with a message for the clicker."""
    run = await svc.store.get(run_id)
    workflow = svc.spec.workflow(run.workflow)
    if workflow is None:
        raise NotFound(f"workflow {run.workflow} is no longer configured")
    denial = await svc.access.decide_denial(user=user, run=run, workflow=workflow, approve=approve)
    if denial:
        await svc.record(
            "review.denied", run, actor=user, attrs={"maple.review.action": "approve" if approve else "other"}
        )
        raise AccessDenied(denial)
    if run.state is not RunState.IN_REVIEW:
        raise InvalidTransition(text.already_decided(run.state.value))
    return run, workflow


async def decide(
    svc: Services, *, run_id: str, user: str, kind: Literal["approve", "reject"], reason: str | None = None
) -> Run:
    """Record a decision and enqueue its consequences, atomically. Raises AccessDenied / InvalidTransition."""
    if kind == "reject" and not (reason or "").strip():
        raise InputError(text.EMPTY_REASON)
    await load_for_review(svc, run_id=run_id, user=user, approve=kind == "approve")
    decided_at = svc.clock.now()

    def apply(r: Run) -> None:
        if r.state is not RunState.IN_REVIEW:
            raise InvalidTransition(text.already_decided(r.state.value))
        if kind == "approve":
            if user in r.approvals:
                raise InvalidTransition(text.ALREADY_APPROVED)
            r.approvals.append(user)
            if len(r.approvals) < r.quorum:
                return  # waiting for more approvals (quorum)
        transition(r, RunState.APPROVED if kind == "approve" else RunState.REJECTED)
        r.decision = Decision(kind=kind, by=user, at=decided_at, reason=(reason or "").strip() or None)

    def job(r: Run) -> Job:
        if r.state is RunState.IN_REVIEW:
            return Job(run_id=run_id, kind="refresh_reviews")  # refresh the review messages: "1 of 2 approvals"
        return Job(run_id=run_id, kind="deliver" if kind == "approve" else "reject")

    run = await svc.mutate(run_id, apply, job=job)
    await svc.record("review.decided", run, actor=user, attrs={
        "maple.review.decision": kind, **svc.audit.text_attrs("maple.review.reason", (reason or "").strip() or None),
        "maple.review.approvals": len(run.approvals)})
    return run


async def edit(svc: Services, *, run_id: str, user: str, new_text: str) -> Run:
    """Replace the draft with a reviewer's version (earlier versions are kept)."""
    new_text = new_text.strip()
    if not new_text:
        raise InputError(text.EMPTY_EDIT)
    if len(new_text) > svc.spec.limits.max_draft_chars:
        raise InputError(text.edit_too_long(svc.spec.limits.max_draft_chars))
    run, _workflow = await load_for_review(svc, run_id=run_id, user=user, approve=False)
    edited_at = svc.clock.now()
    level, hits = svc.assessment(new_text)  # an edited draft is assessed and checked again
    violations = check_draft(svc.spec.policy, workflow=run.workflow, draft=new_text,
                             sources=[run.goal, *(d.text for d in run.drafts)], assess=svc.assessment)
    if blocking(violations):
        raise InputError("; ".join(v.message for v in blocking(violations)))

    def apply(r: Run) -> None:
        if r.state is not RunState.IN_REVIEW:
            raise InvalidTransition(text.not_in_review(r.state.value))
        r.drafts.append(DraftVersion(text=new_text, author=user, at=edited_at))
        r.approvals.clear()  # approvals were for the previous text
        r.sensitivity = max(r.sensitivity, level)
        for kind, count in hits.items():
            r.sensitivity_hits[kind] = max(r.sensitivity_hits.get(kind, 0), count)
        r.policy_notes = [f"policy: {v.message}" for v in violations]

    run = await svc.mutate(run_id, apply, job=Job(run_id=run_id, kind="refresh_reviews"))
    await svc.record("draft.edited", run, actor=user, attrs={"maple.draft.version": len(run.drafts)})
    return run
