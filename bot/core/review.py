"""Reviewers' decisions. A decision binds to the draft version the reviewer saw, and every check that depends on
the run — state, version, self-approval, editor-only approval — happens inside the same optimistic write: of two
concurrent clicks exactly one wins, a repeated click changes nothing, and nobody approves a version they did
not see. The decision's audit event is written on the run in that same write (an outbox) and appended after."""

from __future__ import annotations

from typing import Literal

from bot.core import text
from bot.core.errors import AccessDenied, InputError, InvalidTransition, NotFound
from bot.core.models import AuditIntent, Decision, DraftVersion, Job, Run, RunState
from bot.core.policy import blocking, check_draft
from bot.core.services import Services
from bot.core.spec import WorkflowSpec
from bot.core.states import transition

MAX_VERSIONS_KEPT = 10
MAX_EDITS = 20


async def load_for_review(svc: Services, *, run_id: str, user: str) -> tuple[Run, WorkflowSpec]:
    """The run and its workflow for a reviewer, or AccessDenied/InvalidTransition with a message for them."""
    run = await svc.store.get(run_id)
    workflow = svc.spec.workflow(run.workflow)
    if workflow is None:
        raise NotFound(text.msg("workflow_gone", workflow=text.Quote(run.workflow, 40)))
    if not await may_review(svc, run, user, workflow):
        await _denied(svc, run, user, "other")
        raise AccessDenied(text.NOT_ALLOWED_DECIDE)
    if not run.audience.admits(frozenset({user})):  # the edit form would show them the draft
        await _denied(svc, run, user, "other")
        raise AccessDenied(text.msg("decide_outside_audience"))
    if run.state is not RunState.IN_REVIEW:
        raise InvalidTransition(text.already_decided(run.state.value))
    return run, workflow


async def may_review(svc: Services, run: Run, user: str, workflow: WorkflowSpec) -> bool:
    """A reviewer of the workflow, or someone an admin assigned to this run."""
    return user in run.assigned or await svc.access.is_approver(user, workflow)


async def _denied(svc: Services, run: Run, user: str, action: str) -> None:
    await svc.record("review.denied", run, actor=user, attrs={"maple.review.action": action})


def _check_current(r: Run, seen_version: int | None) -> None:
    if r.state is not RunState.IN_REVIEW:
        raise InvalidTransition(text.already_decided(r.state.value))
    if seen_version != r.draft_version:
        raise InvalidTransition(text.DRAFT_CHANGED)


async def decide(
    svc: Services, *, run_id: str, user: str, kind: Literal["approve", "reject"], seen_version: int | None,
    reason: str | None = None,
) -> Run:
    """Record a decision on the version ``seen_version`` and enqueue its consequences, atomically.
    Raises AccessDenied / InvalidTransition / InputError with a message for the reviewer."""
    reason = (reason or "").strip() or None
    if kind == "reject" and reason is None:
        raise InputError(text.EMPTY_REASON)
    run, workflow = await load_for_review(svc, run_id=run_id, user=user)
    approver = await may_review(svc, run, user, workflow)
    decided_at = svc.clock.now()
    denial: list[text.Msg] = []

    def apply(r: Run) -> None:
        refused = svc.access.decision_denial(user=user, run=r, approver=approver, approve=kind == "approve")
        if refused is not None:
            denial.append(refused)
            raise AccessDenied(refused)
        _check_current(r, seen_version)
        if kind == "approve":
            if user in r.approvals:
                raise InvalidTransition(text.ALREADY_APPROVED)
            r.approvals.append(user)
        if kind == "reject" or len(r.approvals) >= r.quorum:
            transition(r, RunState.APPROVED if kind == "approve" else RunState.REJECTED)
            r.decision = Decision(kind=kind, by=user, at=decided_at, reason=reason)
        r.outbox.append(AuditIntent(id=f"{r.id}:decided:{r.version + 1}", kind="review.decided", actor=user,
                                    attrs={"maple.review.decision": kind, "maple.review.approvals": len(r.approvals),
                                           "maple.draft.version": r.draft_version,
                                           **svc.audit.text_attrs("maple.review.reason", reason)}))

    def job(r: Run) -> Job:
        if r.state is RunState.IN_REVIEW:
            return Job(run_id=run_id, kind="refresh_reviews")  # "1 of 2 approvals" on the review messages
        return Job(run_id=run_id, kind="deliver" if kind == "approve" else "reject")

    try:
        return await svc.mutate(run_id, apply, job=job)
    except AccessDenied:
        if denial:
            await _denied(svc, run, user, kind)
        raise


async def edit(svc: Services, *, run_id: str, user: str, new_text: str, seen_version: int | None) -> Run:
    """Replace the draft with a reviewer's version of the draft they saw (earlier versions are kept, up to
    ``MAX_VERSIONS_KEPT``). The edit is assessed and checked again; approvals given so far are cleared."""
    new_text = new_text.strip()
    if not new_text:
        raise InputError(text.EMPTY_EDIT)
    if len(new_text) > svc.spec.limits.max_draft_chars:
        raise InputError(text.edit_too_long(svc.spec.limits.max_draft_chars))
    run, _workflow = await load_for_review(svc, run_id=run_id, user=user)
    edited_at = svc.clock.now()
    level, hits = svc.assessment(new_text)
    violations = check_draft(svc.spec.policy, workflow=run.workflow, draft=new_text,
                             sources=[run.goal, *(d.text for d in run.drafts)], assess=svc.assessment)
    if blocking(violations):
        raise InputError("; ".join(v.message for v in blocking(violations)))

    def apply(r: Run) -> None:
        _check_current(r, seen_version)
        if r.draft_version >= MAX_EDITS:
            raise InputError(text.too_many_versions(r.draft_version))
        r.draft_version += 1
        r.drafts.append(DraftVersion(text=new_text, author=user, at=edited_at, version=r.draft_version))
        if len(r.drafts) > MAX_VERSIONS_KEPT:  # keep the original and the latest versions
            r.drafts[1:] = r.drafts[-(MAX_VERSIONS_KEPT - 1):]
        r.approvals.clear()  # approvals were for the previous text
        r.sensitivity = max(r.sensitivity, level)
        for kind, count in hits.items():
            r.sensitivity_hits[kind] = max(r.sensitivity_hits.get(kind, 0), count)
        r.policy_notes = [f"policy: {v.message}" for v in violations]
        r.outbox.append(AuditIntent(id=f"{r.id}:edited:{r.draft_version}", kind="draft.edited", actor=user,
                                    attrs={"maple.draft.version": r.draft_version,
                                           "maple.sensitivity.level": r.sensitivity.label}))

    return await svc.mutate(run_id, apply, job=Job(run_id=run_id, kind="refresh_reviews"))
