"""The ack path's core: validate and authorize a goal, persist the run, enqueue it. Nothing slow happens here."""

from __future__ import annotations

from dataclasses import dataclass

from bot.core import text
from bot.core.errors import AccessDenied, InputError
from bot.core.models import Job, Origin, Run
from bot.core.services import Services
from bot.core.spec import WorkflowSpec


@dataclass(frozen=True, kw_only=True)
class Intake:
    """A goal as it arrived, before it becomes a run."""

    requester: str
    origin: Origin
    goal: str
    workflow: str


def check_goal(svc: Services, goal: str) -> str:
    goal = goal.strip()
    if not goal:
        raise InputError(text.USAGE)
    limit = svc.spec.limits.max_goal_chars
    if len(goal) > limit:
        raise InputError(text.goal_too_long(limit, len(goal)))
    return goal


async def authorize_run(svc: Services, *, user: str, workflow: WorkflowSpec) -> None:
    if not await svc.access.may_run(user, workflow):
        raise AccessDenied(text.NOT_ALLOWED_RUN.format(workflow=workflow.label))


async def submit(svc: Services, intake: Intake) -> Run:
    """Persist a new run and enqueue its draft job. Raises InputError, AccessDenied, StoreUnavailable."""
    goal = check_goal(svc, intake.goal)
    workflow = svc.spec.workflow(intake.workflow)
    if workflow is None:
        raise InputError(text.UNKNOWN_WORKFLOW.format(workflow=intake.workflow))
    await authorize_run(svc, user=intake.requester, workflow=workflow)
    now = svc.clock.now()
    run = Run(
        requester=intake.requester,
        origin=intake.origin,
        goal=goal,
        workflow=workflow.id,
        created_at=now,
        updated_at=now,
        sensitivity=svc.spec.sensitivity.default,
    )
    run = await svc.store.create(run, job=Job(run_id=run.id, kind="draft"))
    await svc.record(
        "run.created",
        run,
        actor=run.requester,
        attrs={"maple.workflow": workflow.id, "maple.origin": intake.origin.kind},
    )
    return run
