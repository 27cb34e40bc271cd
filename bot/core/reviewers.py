"""Who can still approve a run, and what is done when nobody can.

The people who may approve a run in review are the reviewers it went to (the workflow's reviewer roles) and those
an admin assigned to it, less the requester (unless self-approval is allowed), the reviewer whose edit is the
current draft and those who already approved. A run with fewer of them than the approvals it still needs is
*stuck*: Maple says so before an edit that would make it stuck, tells the requester and the admins when it
happens, shows it in ``/maple status`` and the App Home, and an admin can take the review or cancel the run.
"""

from __future__ import annotations

from bot.core import text
from bot.core.access import edited_last_by
from bot.core.errors import AccessDenied, InvalidTransition
from bot.core.models import AuditIntent, Decision, DraftVersion, Job, Run, RunState
from bot.core.services import Services
from bot.core.states import transition


async def reviewers_of(svc: Services, run: Run) -> list[str]:
    workflow = svc.spec.workflow(run.workflow)
    people = await svc.access.approvers(workflow) if workflow else []
    return [*people, *(u for u in run.assigned if u not in people)]


def may_approve(svc: Services, run: Run, user: str) -> bool:
    return (user not in run.approvals
            and svc.access.decision_denial(user=user, run=run, approver=True, approve=True) is None)


async def able(svc: Services, run: Run) -> list[str]:
    """The reviewers who may still approve ``run`` as it is now."""
    return [u for u in await reviewers_of(svc, run) if may_approve(svc, run, u)]


def needed(run: Run) -> int:
    return max(0, run.quorum - len(run.approvals))


async def is_stuck(svc: Services, run: Run) -> bool:
    return run.state is RunState.IN_REVIEW and len(await able(svc, run)) < needed(run)


async def able_after_edit(svc: Services, run: Run, *, editor: str) -> list[str]:
    """Who could approve if ``editor`` saved an edit now (an edit clears the approvals given so far)."""
    after = run.model_copy(deep=True)
    after.drafts.append(DraftVersion(text="", author=editor, at=svc.clock.now(), version=run.draft_version + 1))
    after.approvals = []
    return await able(svc, after)


async def edit_warning(svc: Services, run: Run, *, editor: str) -> text.Msg:
    """What the edit form says before the edit: who approves it afterwards — or that nobody can."""
    others = await able_after_edit(svc, run, editor=editor)
    if len(others) < run.quorum:
        return text.msg("edit_leaves_nobody")
    return text.msg("edit_then_others", who=text.people(others[:10]))


async def take_over(svc: Services, *, run_id: str, admin: str) -> Run:
    """An admin assigns the review of a stuck run to themself, so it can be decided. A run its reviewers can still
    approve is refused: taking it would let someone with no reviewer role approve it."""
    if not await svc.access.is_admin(admin):
        raise AccessDenied(text.msg("admins_only"))
    stuck = await is_stuck(svc, await svc.store.get(run_id))

    def assign(r: Run) -> None:
        if r.state is not RunState.IN_REVIEW:
            raise InvalidTransition(text.not_in_review(r.state.value))
        if not stuck and admin not in r.assigned:
            raise InvalidTransition(text.msg("take_not_stuck", run=r.id))
        refused = svc.access.decision_denial(user=admin, run=r, approver=True, approve=True)
        if refused is not None:
            raise AccessDenied(refused)
        if admin not in r.assigned:
            r.assigned.append(admin)
        r.outbox.append(AuditIntent(id=f"{r.id}:assigned:{admin}:{r.draft_version}", kind="review.assigned",
                                    actor=admin, attrs={"maple.draft.version": r.draft_version}))

    return await svc.mutate(run_id, assign, job=Job(run_id=run_id, kind="refresh_reviews"))


async def cancel(svc: Services, *, run_id: str, user: str) -> Run:
    """The requester (or an admin) cancels a run that is not decided yet: nothing is delivered."""
    run = await svc.store.get(run_id)
    if user != run.requester and not await svc.access.is_admin(user):
        raise AccessDenied(text.msg("cancel_not_yours"))
    at = svc.clock.now()

    def stop(r: Run) -> None:
        if r.terminal or r.state is RunState.APPROVED:
            raise InvalidTransition(text.not_in_review(r.state.value))
        transition(r, RunState.CANCELLED)
        r.decision = Decision(kind="cancel", by=user, at=at)
        r.outbox.append(AuditIntent(id=f"{r.id}:cancelled", kind="run.cancelled", actor=user,
                                    attrs={"maple.run.state": r.state.value}))

    return await svc.mutate(run_id, stop, job=Job(run_id=run_id, kind="cancelled"))


async def stuck_reason(svc: Services, run: Run) -> text.Msg:
    editor = edited_last_by(run)
    if editor is not None and editor in await reviewers_of(svc, run):
        return text.msg("stuck_edited", user=text.User(editor))
    return text.msg("stuck_nobody")


async def admins(svc: Services) -> list[str]:
    """The Maple admins, by id (user groups and channels expanded)."""
    return sorted(await svc.access.readers_of(list(svc.spec.admin_roles)) or [])


def named_admins(svc: Services) -> list[str]:
    """The admins the config names by user id — no look-ups, so the ack path can name them to an outsider."""
    return sorted({m for role in svc.spec.admin_roles for m in svc.spec.roles.get(role, []) if m.startswith(("U", "W"))})
